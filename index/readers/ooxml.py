"""Office Open XML packages (.pptx, .xlsx): the checks made before any part is parsed.

A password-protected OOXML file is not a ZIP package at all but an OLE compound file holding an
`EncryptedPackage` stream, as are the old binary formats (.ppt, .xls): both are told apart and
refused with one line. A package is refused when its parts claim to unpack to more than the
budget (`check_expansion`), before anything is unpacked; Python's zipfile stops every part at
the size it claims, so a part that lies about its size cannot unpack to more either.
"""

from __future__ import annotations

import io
import zipfile

from index.errors import InputError
from index.readers.base import ReadOptions, check_expansion

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The stream an encrypted OOXML file keeps its package in, named in the OLE directory (UTF-16LE).
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def check_package(data: bytes, options: ReadOptions, kind: str, suffix: str, old_suffix: str) -> None:
    """Refuse `data` unless it is an unencrypted ZIP package within the unpacking budget. `kind`
    names the program in messages ("PowerPoint"), `suffix` the format (".pptx"), `old_suffix`
    its old binary format (".ppt")."""
    if data.startswith(OLE):
        if _ENCRYPTED_STREAM in data:
            raise InputError(f"a password-protected {kind} file: save a copy without a password")
        raise InputError(f"an old-format ({old_suffix}) {kind} file: save it as {suffix}")
    if not data.startswith(b"PK"):
        raise InputError(f"not a {kind} {suffix} file (it is not a ZIP package)")
    check_unpacked(data, options, kind)


def check_unpacked(data: bytes, options: ReadOptions, kind: str) -> None:
    """What the package's parts claim to unpack to, held to the budget before anything is
    unpacked (a 333 KB file of empty paragraphs unpacks to hundreds of MB and takes minutes and
    gigabytes to parse); a package whose directory cannot be read is damaged."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            unpacked = sum(max(0, info.file_size) for info in package.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(f"damaged {kind} file: {exc or type(exc).__name__}") from None
    check_expansion("unpacks to", unpacked, len(data), options)


def damaged(kind: str, where: str, exc: Exception) -> InputError:
    """The one line for a part that breaks only once it is read ("damaged Excel file: sheet
    'Ledger': BadZipFile: Bad CRC-32 ...")."""
    return InputError(f"damaged {kind} file: {where}: {type(exc).__name__}: {exc}"[:300])
