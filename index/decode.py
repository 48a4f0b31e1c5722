"""Bytes to text, strictly: sniff a BOM, try UTF-8, then a detected legacy encoding.

Never decodes with errors ignored or replaced: a file we cannot decode faithfully is reported,
because a silently mangled document gives citations that do not match the file.
"""

from __future__ import annotations

import codecs

from index.errors import InputError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Detectors often call Windows-1252 text "latin-1"; cp1252 maps 0x80-0x9F to the quotes and
# dashes such files really contain, where latin-1 would give invisible C1 control characters.
_WESTERN = {"latin_1", "iso8859_1", "iso8859_15", "cp1252", "windows_1252", "cp1250", "iso8859_2"}


def decode(data: bytes) -> tuple[str, str]:
    """Return (text, encoding name). Raises InputError for binary or undecodable bytes."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding), encoding + " (BOM)"
            except UnicodeDecodeError as exc:
                raise InputError(f"invalid {encoding} after its byte-order mark: {exc.reason} at byte {exc.start}") from None
    if b"\x00" in data[:8192]:
        raise InputError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = f"invalid UTF-8 at byte {exc.start}"
    return _decode_legacy(data, utf8_error)


def _decode_legacy(data: bytes, utf8_error: str) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InputError(f"{utf8_error}, and no other encoding fits: binary or corrupt file")
    encoding = codecs.lookup(best.encoding).name.replace("-", "_")
    candidates = ["cp1252", best.encoding] if encoding in _WESTERN else [best.encoding]
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        return text, candidate
    raise InputError(f"{utf8_error}, and no other encoding decodes it cleanly: binary or corrupt file")


def _looks_binary(text: str) -> bool:
    """Control characters other than whitespace mean we decoded something that is not text."""
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return controls > max(2, len(sample) // 100)
