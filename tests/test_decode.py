"""Bytes to text on real text: every encoding a document folder holds comes back exactly, and the
upload check and `rag index` accept and refuse the same files."""

from __future__ import annotations

import codecs
import random

import pytest

from index import readers
from index.decode import decode, plausibility
from index.errors import InputError
from ui import upload

FRENCH = (
    "Café crème brûlée à la française: a naïve façade, déjà vu.\n"
    "Le garçon a commandé un gâteau aux pêches; où est passé l’été ?\n"
    "Noël approche, et Zoé prépare une bûche pour sa sœur Hélène.\n"
)
GERMAN = (
    "Grüße aus München! Das Mädchen aß Äpfel und trank Öl.\n"
    "„Übermut tut selten gut“, sagte der Großvater zur Fußgängerin.\n"
    "Die Straße ist gesperrt, weil die Brücke größer wird.\n"
)
ENGLISH_QUOTES = (
    "He said “yes” — and then ‘no’. It cost €5.\n"
    "The report’s “final” draft – all 12 pages… – arrived at 9 o’clock.\n"
    "Prices rose 3‰ in Q1; the CEO called it “a blip” • not a trend.\n"
)
RUSSIAN = (
    "Привет, мир! Это короткий текст на русском языке, чтобы проверить кодировку. "
    "В нём есть заглавные буквы, знаки препинания и цифры: 2024 год, 15 минут. "
    "Москва — столица России; здесь живёт больше двенадцати миллионов человек.\n"
)
JAPANESE = (
    "これは日本語の文章です。東京は大きな都市です。\n"
    "今日はiPhoneを買いました。明日は雨が降るでしょう。\n"
)
LATIN_1 = "Señor Müller paid £25 for 2½ kg at 25°C. © 2024, ¿qué tal? ¡Olé! Ça va, Ångström.\n"
MOSTLY_ASCII = (
    "Meeting notes for Monday. The budget was approved and the plan is final.\n"
    "The team will start next week; the kickoff is in the café on the second floor.\n"
    "Action items: update the résumé template, book the room, send the agenda.\n"
) * 3


def _random_bytes(seed: int, low: int, n: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(low, 256) for _ in range(n))


@pytest.mark.parametrize("text", [
    FRENCH, GERMAN, ENGLISH_QUOTES,
    "Café crème brûlée à la française: a naïve façade, déjà vu.",  # one short line, no newline
    "He said “yes” — and then ‘no’. It cost €5.",
], ids=["french", "german", "english-quotes", "french-line", "quotes-line"])
def test_cp1252_text_is_read_as_cp1252(text):
    """cp1257 and cp437 read these without an error too; the detector even prefers them."""
    assert decode(text.encode("cp1252")) == (text, "cp1252")


@pytest.mark.parametrize("text", [
    MOSTLY_ASCII,
    # a few high bytes in odd places: the file that was stored as cp1251
    "The meeting is on Monday€ at ten and the age©nda covers budget, hiri“ng and the new office plan.\n",
])
def test_mostly_ascii_with_a_few_high_bytes_is_cp1252_not_cp1251(text):
    assert decode(text.encode("cp1252")) == (text, "cp1252")


def test_latin_1_text():
    assert decode(LATIN_1.encode("latin-1"))[0] == LATIN_1


def test_cp1251_russian_is_not_taken_for_cp1252():
    assert decode(RUSSIAN.encode("cp1251")) == (RUSSIAN, "cp1251")


def test_shift_jis_japanese():
    text, encoding = decode(JAPANESE.encode("shift_jis"))
    assert text == JAPANESE
    assert codecs.lookup(encoding).name in ("shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213")


@pytest.mark.parametrize("codec, bom, name", [
    ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16-le (BOM)"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16-be (BOM)"),
    ("utf-8", codecs.BOM_UTF8, "utf-8 (BOM)"),
    ("utf-8", b"", "utf-8"),
])
@pytest.mark.parametrize("text", [FRENCH, RUSSIAN, JAPANESE], ids=["french", "russian", "japanese"])
def test_unicode_encodings(text, codec, bom, name):
    assert decode(bom + text.encode(codec)) == (text, name)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", [ENGLISH_QUOTES, FRENCH, RUSSIAN], ids=["english", "french", "russian"])
def test_utf16_without_bom_is_read_by_its_nul_pattern(text, codec):
    """Without a BOM, the NULs of UTF-16 sit on one side of each pair (a space or an ASCII letter is
    NUL plus a byte): that says which UTF-16 it is, so we read it rather than refuse it."""
    decoded, name = decode(text.encode(codec))
    assert decoded == text
    assert name.startswith(codec) and "no BOM" in name


def test_nul_bytes_without_the_utf16_pattern_are_refused():
    with pytest.raises(InputError, match="binary file.*NUL.*byte-order mark"):
        decode(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match="binary file"):
        decode("hello".encode("utf-32-le"))  # UTF-32 is only read with its BOM


def test_a_nul_after_the_first_8_kb_is_still_refused():
    with pytest.raises(InputError, match="binary file"):
        decode(b"plain text. " * 1000 + b"\x00")


@pytest.mark.parametrize("data", [
    bytes(range(256)) * 8,
    _random_bytes(7, 0x80, 400),
    _random_bytes(3, 1, 4000),
    bytes(range(1, 32)) * 100,  # valid UTF-8, but nothing but control characters
    b"\x00\x01binary now",  # NULs on one side, but U+0001 as UTF-16
], ids=["all-bytes", "high-bytes", "no-nul", "controls", "nul-pattern"])
def test_binary_is_refused_with_a_clear_message(data):
    with pytest.raises(InputError, match="binary"):
        decode(data)


def test_decoding_never_replaces_or_drops_bytes():
    for text in (FRENCH, GERMAN, ENGLISH_QUOTES, RUSSIAN):
        for codec in ("cp1252", "cp1251"):
            try:
                data = text.encode(codec)
            except UnicodeEncodeError:
                continue
            decoded, name = decode(data)
            assert "\ufffd" not in decoded and decoded.encode(name.split(" ")[0]) == data


def test_plausibility_tells_mojibake_from_text():
    assert plausibility(FRENCH) == 1.0 and plausibility(RUSSIAN) == 1.0
    assert plausibility(FRENCH.encode("cp1252").decode("cp1251")) < 0.5  # "Cafй"
    assert plausibility(RUSSIAN.encode("cp1251").decode("cp1252")) < 0.5  # "Ïðèâåò"
    assert plausibility(ENGLISH_QUOTES.encode("cp1252").decode("cp437")) < 1.0  # "ænoÆ"
    assert plausibility("plain ASCII") == 1.0


# --- the upload check and `rag index` read bytes the same way ----------------------------------

def _upload_refuses(data: bytes, name: str = "f.txt") -> bool:
    try:
        upload.check_content(name, data, max_bytes=10_000_000)
    except InputError:
        return True
    return False


def _index_refuses(data: bytes, name: str = "f.txt") -> bool:
    try:
        readers.read(name, data)  # what `rag index` reads a file with
    except InputError:
        return True
    return False


@pytest.mark.parametrize("data", [
    codecs.BOM_UTF16_LE + FRENCH.encode("utf-16-le"),
    codecs.BOM_UTF16_BE + RUSSIAN.encode("utf-16-be"),
    ENGLISH_QUOTES.encode("utf-16-le"),
    FRENCH.encode("cp1252"),
    JAPANESE.encode("shift_jis"),
    bytes(range(256)) * 8,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    _random_bytes(7, 0x80, 400),
], ids=["utf16le-bom", "utf16be-bom", "utf16-no-bom", "cp1252", "shift-jis", "binary", "png", "high-bytes"])
def test_upload_and_index_accept_and_refuse_the_same_files(data):
    assert _upload_refuses(data) == _index_refuses(data)


def test_upload_accepts_utf16_with_bom_and_refuses_binary():
    upload.check_content("f.txt", codecs.BOM_UTF16_LE + FRENCH.encode("utf-16-le"), max_bytes=10_000)
    with pytest.raises(InputError, match="'f.txt' cannot be read as text: binary file"):
        upload.check_content("f.txt", bytes(range(256)) * 8, max_bytes=10_000)


@pytest.mark.parametrize("markup", ["<script>alert(1)</script>", '<svg onload="alert(1)"/>', "< SCRIPT src=x>"])
def test_upload_refuses_markup_after_64_kb(markup):
    data = ("harmless text. " * 5000 + markup).encode("utf-8")
    assert len(data) > 65536
    with pytest.raises(InputError, match="SVG or script"):
        upload.check_content("f.txt", data, max_bytes=10_000_000)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_upload_refuses_markup_in_utf16(codec):
    with pytest.raises(InputError, match="SVG or script"):
        upload.check_content("f.txt", "hello <script>alert(1)</script>".encode(codec), max_bytes=10_000)


def test_upload_still_takes_markup_in_html_and_refuses_empty_utf16():
    upload.check_content("page.html", b"<html><script>x()</script><p>text</p></html>", max_bytes=10_000)
    with pytest.raises(InputError, match="empty"):
        upload.check_content("f.txt", codecs.BOM_UTF16_LE + "  \n".encode("utf-16-le"), max_bytes=10_000)
