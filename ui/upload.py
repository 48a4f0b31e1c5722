"""Files added from the browser: checked, renamed safely, and kept in the upload folder.

The browser sends a name and bytes, and both are hostile until checked: the name may be
`../../.rag/chroma.sqlite3` or `CON.txt\\x00.svg`, the bytes an SVG with script in a `.txt`. Only
a plain base name survives, with an allowed extension, under the size limit, and content that is
text rather than markup that a browser would run. Nothing is ever served back from here.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag import reading as readers
from rag.errors import InputError

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
# Checked on the decoded text (UTF-16 `<script>` has NULs between its letters), all of it. An SVG
# behind an XML declaration is caught by its `<svg`; a pattern spanning the declaration (`[^>]*`) is
# not needed and could scan quadratically on hostile input.
_ACTIVE = re.compile(r"<\s*(svg|script|iframe|object|embed)\b", re.I)
_HTML = (".html", ".htm")
MAX_NAME = 120


@dataclass(frozen=True)
class Stored:
    name: str  # the file's name in the upload folder, which is its document name in the index
    path: Path
    previous: Path | None = None  # the earlier upload of that name, kept aside until indexing succeeds
    reading: readers.Reading | None = None  # what the check read, for indexing to use (not read twice)
    sha256: str = ""  # of the bytes read

    def keep(self) -> None:
        """Indexing took the new file: the earlier one is no longer needed."""
        if self.previous is not None:
            self.previous.unlink(missing_ok=True)

    def undo(self) -> None:
        """Indexing refused the new file: put the earlier upload back, or leave nothing behind."""
        if self.previous is not None:
            self.previous.replace(self.path)
        else:
            self.path.unlink(missing_ok=True)


def safe_name(original: str, extensions: tuple[str, ...]) -> str:
    """A base name that cannot leave the upload folder, hide an extension or collide with a device."""
    base = re.split(r"[\\/]", original)[-1]
    base = unicodedata.normalize("NFKC", base).replace("\x00", "")
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem.strip(" ._"):
        raise InputError(f"'{original}' has no usable file name")
    ext = f".{ext.lower()}"
    if ext not in extensions:
        raise InputError(f"'{original}': only {', '.join(extensions)} files can be added (not {ext})")
    stem = stem[:MAX_NAME - len(ext)].rstrip(" .")
    return f"{stem}{ext}"


def check_content(name: str, data: bytes, max_bytes: int,
                  options: readers.ReadOptions | None = None) -> readers.Reading | None:
    """Refuse what should never be indexed or shown: empty, too big, binary, active content.

    Whether the bytes are text at all is `index.readers.read`'s call, the same reader `rag index`
    uses, so an upload is refused exactly when indexing the file would fail to read it (a UTF-16
    file with a BOM is text for both; a binary one, or a PDF named .txt, is text for neither). The markup check reads the
    decoded text, so no encoding and no amount of padding hides a `<script>`.

    `options`: how indexing will read the file (its budgets, OCR, the user's cancel): the file is
    read here under them, once, and the reading returned for indexing to use. Without them it is
    a quick look: scanned pages are not recognised (seconds a page), and nothing is returned.
    """
    if not data.strip():
        raise InputError(f"'{name}' is empty")
    if len(data) > max_bytes:
        raise InputError(f"'{name}' is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    try:
        reading = readers.read(name, data, options or readers.ReadOptions(ocr=False))
    except readers.NeedsOcr:
        return None  # a scanned PDF looked at quickly: indexing reads it by OCR, and says so if it cannot
    except InputError as exc:
        if str(exc) in (readers.EMPTY, readers.NO_TEXT):
            raise InputError(f"'{name}' is empty") from None
        raise InputError(f"'{name}' cannot be read as text: {exc}") from None
    if not name.endswith(_HTML) and _ACTIVE.search(reading.text):
        raise InputError(f"'{name}' contains SVG or script markup, which is refused")
    return reading if options is not None else None


def store(source: Path, original_name: str, folder: Path, extensions: tuple[str, ...], max_bytes: int,
          options: readers.ReadOptions | None = None) -> Stored:
    """Copy an uploaded temporary file into `folder` under a safe name. An earlier upload of the same
    name is set aside (not lost) until indexing has taken the new one: see `Stored.keep`/`undo`."""
    name = safe_name(original_name, extensions)
    size = source.stat().st_size
    if size > max_bytes:
        raise InputError(f"'{name}' is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    data = source.read_bytes()
    reading = check_content(name, data, max_bytes, options)
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / name).resolve()
    if target.parent != folder.resolve():  # belt and braces: safe_name already forbids it
        raise InputError(f"'{original_name}' would land outside the upload folder")
    if target.is_symlink():
        raise InputError(f"'{name}' exists in the upload folder as a link and will not be replaced")
    partial = target.with_name(f".{name}.part")
    partial.write_bytes(data)  # the bytes checked above, not the temporary file read again
    previous = None
    if target.exists():
        previous = target.with_name(f".{name}.previous")
        target.replace(previous)
    partial.replace(target)
    return Stored(name, target, previous, reading, hashlib.sha256(data).hexdigest())
