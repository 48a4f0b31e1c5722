"""The chat's users file (RAG_UI_USERS): one `name:hash` a line, never a password.

A hash is `scrypt$n$r$p$salt$key` (salt and key in URL-safe base64): the standard library's
`hashlib.scrypt` with a random salt per user and its parameters in the string, so they can be
raised later without invalidating older lines. The file is written whole to a temporary file of
mode 0600 and moved into place, so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from rag.errors import ConfigError, InputError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # about 50 ms and 16 MB per check
_MAX_N = 2**20  # a hand-edited line cannot make one login take minutes or gigabytes
KEY_BYTES, SALT_BYTES = 32, 16
MIN_PASSWORD_CHARS = 8
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# What a login for a name not on file is checked against, so that both take as long.
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def hash_password(password: str, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, n, r, p)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` matches `encoded`; False for a hash this module did not write."""
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        if scheme != "scrypt" or not (1 < n_ <= _MAX_N and 0 < r_ <= 32 and 0 < p_ <= 16 and 128 * n_ * r_ <= 2**28):
            return False
        expected = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
        actual = _scrypt(password, base64.urlsafe_b64decode(salt + "=" * (-len(salt) % 4)), n_, r_, p_,
                         len(expected) or KEY_BYTES)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def check_login(users_file: Path, name: str, password: str) -> bool:
    """Whether `name` is on file with `password`. A name not on file costs the same time as a wrong
    password, so logins do not tell which names exist."""
    encoded = read_users(users_file).get(name)
    matches = verify_password(password, encoded or _DUMMY_HASH)
    return encoded is not None and matches


def read_users(users_file: Path) -> dict[str, str]:
    """name → hash; ConfigError naming the line that is not `name:hash` (a missing file: no users)."""
    path = Path(users_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the users file {path} ({getattr(exc, 'strerror', None) or exc})") from None
    users = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, encoded = line.strip().partition(":")
        if not sep or not USER_NAME.fullmatch(name) or not encoded.startswith("scrypt$"):
            raise ConfigError(f"{path}, line {number}: not `name:scrypt$...` (add users with `rag users add NAME`)")
        users[name] = encoded
    return users


def add_user(users_file: Path, name: str, password: str) -> bool:
    """Add `name`, or give it a new password; True when it was already there."""
    check_name(name)
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    users = read_users(users_file)
    replaced = name in users
    users[name] = hash_password(password)
    _write(Path(users_file), users)
    return replaced


def remove_user(users_file: Path, name: str) -> None:
    users = read_users(users_file)
    if name not in users:
        raise InputError(f"no user '{name}' in {users_file}")
    del users[name]
    _write(Path(users_file), users)


def check_name(name: str) -> None:
    from rag.history import LOCAL_OWNER

    if name == LOCAL_OWNER:  # a login of that name would see the conversations kept without a login
        raise InputError(f"'{LOCAL_OWNER}' is the owner of the conversations kept without a login; choose another name")
    if not USER_NAME.fullmatch(name):
        raise InputError(f"a user name is 1–64 letters, digits and . _ @ - (starting with a letter or digit), "
                         f"not {name!r}")


def _write(path: Path, users: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, "".join(f"{name}:{encoded}\n" for name, encoded in users.items()).encode("utf-8"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temporary, path)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = KEY_BYTES) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=128 * r * n * p + 2**24)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
