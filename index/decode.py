"""Bytes to text, strictly: a BOM, else UTF-8, else UTF-16 by its NUL pattern, else a legacy code page.

Never decodes with errors ignored or replaced: a file we cannot decode faithfully is reported,
because a silently mangled document gives citations that do not match the file. The upload check
(`ui/upload.check_content`) calls `decode` too, so the browser and `rag index` accept and refuse
exactly the same files.

Legacy code pages are the hard part: most single-byte code pages decode any byte string without an
error, so "it decodes" proves nothing, and on short texts a detector's statistics are weak
(charset_normalizer calls French cp1252 text cp1257, smart quotes cp437, and gives cp1252 a worse
"chaos" figure than those). Windows-1252 is by far the most common legacy encoding of the files
people have, so it is the default: it wins whenever it decodes cleanly unless another candidate is
*clearly* better by `plausibility`, a small measure of whether the non-ASCII characters sit where real
text puts them (see there).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from index.errors import InputError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_DEFAULT = "cp1252"
# How much better (in share of plausibly placed non-ASCII characters) another code page must be to
# beat cp1252. Mojibake of another code page read as cp1252 (or the reverse) scores far lower than
# the right reading (Russian read as cp1252: ~0.1 against 1.0), so a wide margin costs nothing there
# and keeps a stray odd character in a real cp1252 file from handing it to a lookalike code page.
_MARGIN = 0.25
_SAMPLE = 8192  # characters checked for control characters
_MAX_TOKENS = 1000  # tokens with non-ASCII characters scored per candidate: plenty, and bounded
_TOKEN_CHARS = 64  # a longer token (unspaced CJK, a URL) is scored on its start
_ASCII = bytes([9, 10, 13]) + bytes(range(32, 127))
_C1 = re.compile("[\x80-\x9f]")
# A whitespace-separated token holding a non-ASCII character. Matching starts only at a token's start
# and the lazy scan stops at its end, so a long ASCII line costs one pass, not one per position.
_NON_ASCII_TOKEN = re.compile(r"(?<!\S)\S*?[^\x00-\x7f]\S*")


def decode(data: bytes) -> tuple[str, str]:
    """Return (text, encoding name). Raises InputError for binary or undecodable bytes."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"invalid {encoding} after its byte-order mark: {exc.reason} at byte {exc.start + len(bom)}"
                ) from None
            return _not_binary(text), encoding + " (BOM)"
    nul = data.find(b"\x00")
    if nul >= 0:
        return _utf16_without_bom(data, nul)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _decode_legacy(data, f"invalid UTF-8 at byte {exc.start}")
    return _not_binary(text), "utf-8"


def _utf16_without_bom(data: bytes, nul: int) -> tuple[str, str]:
    """Text has no NUL bytes, except UTF-16: there, each ASCII character is a NUL and a byte, so in
    ASCII-heavy text the NULs sit on one side (odd offsets for little-endian). When the pattern says
    so, read it that way; the result must still decode strictly and hold no control character at all
    (a NUL, a 0x01 and then ASCII, read as UTF-16, gives U+0001). Anything else with NULs (and UTF-32
    without a BOM) is refused."""
    sample = data[: _SAMPLE - _SAMPLE % 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = max(1, len(sample) // 2)
    refusal = (f"binary file (NUL byte at offset {nul}), not text; if it is UTF-16 text, "
               f"save it with a byte-order mark or as UTF-8")
    if len(data) % 2 == 0:
        for encoding, ours, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
            if ours >= max(1, half // 10) and other * 10 <= ours:
                try:
                    text = data.decode(encoding)
                except UnicodeDecodeError:
                    break
                if _controls(text[:_SAMPLE]):  # a guess: not even the few a BOM or UTF-8 file may have
                    break
                return text, encoding + " (no BOM: by its NUL pattern)"
    raise InputError(refusal)


def _decode_legacy(data: bytes, utf8_error: str) -> tuple[str, str]:
    """The best clean reading among cp1252 and the detector's candidates.

    A candidate is clean when it decodes strictly (cp1252 fails on its undefined bytes 0x81, 0x8D,
    0x8F, 0x90, 0x9D), has no C1 control characters (latin-1's reading of cp1252 quotes) and does not
    look binary. Clean candidates are ranked by `plausibility`, cp1252 with a head start of `_MARGIN`;
    ties go to cp1252, then to the detector's order.
    """
    best: tuple[float, int, str, str] | None = None
    for rank, encoding in enumerate(_candidates(data)):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _C1.search(text) or _looks_binary(text):
            continue
        score = plausibility(text) + (_MARGIN if encoding == _DEFAULT else 0.0)
        if best is None or score > best[0]:
            best = (score, rank, text, encoding)
    if best is None:
        raise InputError(
            f"{utf8_error}, and no other encoding decodes it cleanly: binary or corrupt file "
            f"(if it is text, save it as UTF-8)"
        )
    return best[2], best[3]


def _candidates(data: bytes) -> list[str]:
    """cp1252 first, then the detector's matches in its order: ASCII-compatible ones only (UTF-16 and
    EBCDIC readings of a byte string are separate questions, settled before we get here)."""
    from charset_normalizer import from_bytes

    names, seen = [_DEFAULT], {_DEFAULT}
    for match in from_bytes(data):
        try:
            name = codecs.lookup(match.encoding).name
            compatible = _ASCII.decode(name) == _ASCII.decode("ascii")
        except (LookupError, UnicodeDecodeError):
            continue
        if compatible and not name.startswith("utf") and name not in seen:
            seen.add(name)
            names.append(match.encoding)
    return names


def plausibility(text: str) -> float:
    """Share (0..1) of the non-ASCII characters that sit in plausible whitespace-separated tokens.

    The wrong code page turns each non-ASCII byte into a character that does not fit its
    neighbours: cp1252 read as cp1251 gives `cafй` (a Cyrillic letter in a Latin word), Russian read
    as cp1252 gives `Ïðèâåò` (a long Latin word without a single ASCII letter), Polish cp1250 read as
    cp1252 gives `je¿a` and `ódŸ` (a symbol glued inside a word, an upper-case letter after a
    lower-case one), cp1252 quotes read as cp437 give `ænoÆ`. A token is implausible when:

    - a run of letters mixes scripts (Latin, Cyrillic, Greek, ...), except that unspaced CJK or Thai
      text may embed ASCII words (`今日はiPhoneを`);
    - a run of letters with a non-ASCII letter has a lower-case letter followed by an upper-case one;
    - a Latin run of two or more letters has no ASCII letter (`à`, `où`, `für` are fine);
    - non-ASCII symbols or digits sit between two letters of a spaced script, other than a dash, a
      right quote used as an apostrophe (`o’clock`) or a middle dot (Catalan `l·l`);
    - it holds box-drawing or block characters, or private-use or unassigned code points.

    A text without non-ASCII characters scores 1: every ASCII-compatible code page reads it alike.
    """
    total = plausible = 0
    for count, match in enumerate(_NON_ASCII_TOKEN.finditer(text)):
        if count >= _MAX_TOKENS:
            break
        token = match.group()[:_TOKEN_CHARS]
        n = sum(1 for ch in token if ch >= "\x80")
        total += n
        plausible += n if _plausible_token(token) else 0
    return plausible / total if total else 1.0


_UNSPACED = {"CJK", "THAI"}  # scripts written without spaces between words
_CJK = {"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "IDEOGRAPHIC", "HANGUL", "BOPOMOFO",
        "FULLWIDTH", "HALFWIDTH"}
_SCRIPTS = {"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "GEORGIAN", "HEBREW", "ARABIC", "THAI", "DEVANAGARI"}
_JOINERS = {"\u2019", "\u02bc", "\u00b7"}  # apostrophes and the middle dot; dashes are checked by category


def _script(ch: str) -> str | None:
    """The writing system of a letter, from its Unicode name; None for marks and for letters that
    belong to none in particular (ª, º, µ, modifier letters)."""
    if ch < "\x80":
        return "LATIN"
    word = unicodedata.name(ch, "").split(" ", 1)[0]
    if word in _CJK:
        return "CJK"
    return word if word in _SCRIPTS else None


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM"


def _plausible_token(token: str) -> bool:
    letters = [_is_letter(ch) for ch in token]
    i = 0
    while i < len(token):
        if letters[i]:
            j = i
            while j < len(token) and letters[j]:
                j += 1
            if not _plausible_word(token[i:j]):
                return False
            i = j
            continue
        ch = token[i]
        if ch >= "\x80":
            if "\u2500" <= ch <= "\u259f" or unicodedata.category(ch) in ("Co", "Cn", "Cs"):
                return False
            j = i
            while j < len(token) and not letters[j] and token[j] >= "\x80":
                j += 1
            glued = 0 < i and j < len(token) and letters[i - 1] and letters[j]
            joiner = j == i + 1 and (ch in _JOINERS or unicodedata.category(ch) == "Pd")
            if glued and not joiner and _script(token[i - 1]) not in _UNSPACED and _script(token[j]) not in _UNSPACED:
                return False
        i += 1
    return True


def _plausible_word(word: str) -> bool:
    """One run of letters: see `plausibility`."""
    if word.isascii():
        return True
    scripts = {s for s in map(_script, word) if s}
    latin_non_ascii = any(ch >= "\x80" and _script(ch) == "LATIN" for ch in word)
    if len(scripts) > 1:
        embedded_ascii = len(scripts) == 2 and "LATIN" in scripts and not latin_non_ascii
        if not (embedded_ascii and scripts & _UNSPACED):
            return False
    if any(a.islower() and b.isupper() for a, b in zip(word, word[1:])):
        return False
    if scripts == {"LATIN"} and len(word) >= 2 and not any(ch.isascii() for ch in word):
        return False
    return True


def _not_binary(text: str) -> str:
    """`text`, unless its start is full of control characters: then it is binary that happened to decode."""
    if _looks_binary(text):
        raise InputError("binary file (control characters where text would be), not text")
    return text


def _looks_binary(text: str) -> bool:
    """Control characters other than whitespace mean we decoded something that is not text. A few are
    tolerated (a DOS end-of-file mark, a stray form feed), and so is ESC, which starts the colour codes
    of terminal logs."""
    sample = text[:_SAMPLE]
    return _controls(sample) > max(2, len(sample) // 100)


def _controls(text: str) -> int:
    return sum(1 for ch in text if (ch < " " or "\x7f" <= ch <= "\x9f") and ch not in "\t\n\r\f\v\x1b")
