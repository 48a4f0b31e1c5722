"""Cleaning keeps a faithful map to the original; chunks fit the model and never cross sections."""

from __future__ import annotations

import re
import unicodedata

import pytest

from index.chunk import ChunkPlan, chunk_document
from index.clean import clean
from index.embed import Tokens, resolve_model
from index.embedders.transformer import max_seq_length_of
from tests.conftest import SEEDS

SEED_FILES = sorted(SEEDS.iterdir())


@pytest.fixture(scope="module")
def tokens():
    return Tokens(resolve_model("sentence-transformers/all-MiniLM-L6-v2"))


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name[:3])
def test_every_clean_word_maps_back_to_the_same_characters(path):
    original = path.read_text(encoding="utf-8")
    cleaned = clean(original)
    for m in re.finditer(r"\S+", cleaned.text):
        start, end = cleaned.original_span(m.start(), m.end())
        assert original[start:end] == m.group()


def test_wordpress_boilerplate_is_dropped_and_comments_are_sections():
    cleaned = clean((SEEDS / "003_3e3242ad02214520.txt").read_text(encoding="utf-8"))
    for chrome in ("Leave a Reply", "Powered by WordPress", "Akismet", "donate or subscribe",
                   "Required fields", "14 Comments", "Understanding Canadians Reaction"):
        assert chrome not in cleaned.text
    names = [s.name for s in cleaned.sections]
    assert names[0] == "body"
    assert "reader comment 4 by KT Chong" in names
    assert "reader comment 14 by Eric Anderson" in names
    body = cleaned.sections[0]
    assert "KT Chong" not in cleaned.text[body.start:body.end]


def test_empty_comment_heading_is_dropped():
    cleaned = clean((SEEDS / "001_6930dc61861687c8.txt").read_text(encoding="utf-8"))
    assert "thoughts on" not in cleaned.text
    assert cleaned.text.endswith("defeat Russia.")


def test_nfd_and_nfc_clean_to_the_same_text_and_invisibles_go():
    nfc = "Café déjà vu in Zürich.\r\nSecond line here."
    nfd = unicodedata.normalize("NFD", nfc)
    noisy = "Caf\u200be\u0301 d\u202ee\u0301ja\u0300 vu in Zu\u0308rich.\r\nSecond\u2066 line here.\ufeff"
    assert clean(nfd).text == clean(nfc).text == clean(noisy).text == "Café déjà vu in Zürich.\nSecond line here."
    cleaned = clean(nfd)
    start, end = cleaned.original_span(0, 4)
    assert nfd[start:end] == unicodedata.normalize("NFD", "Café")


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name[:3])
def test_chunks_fit_the_model_and_cite_real_spans(path, tokens):
    model = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    window = max_seq_length_of(model)
    plan = ChunkPlan(chunk_tokens=200, overlap_tokens=40, max_tokens=window - 2)
    original = path.read_text(encoding="utf-8")
    cleaned = clean(original)
    chunks = chunk_document(path.name, cleaned, plan, tokens)
    assert chunks
    with_specials = tokens._tok.encode_batch([c.text for c in chunks], add_special_tokens=True)
    for chunk, encoding in zip(chunks, with_specials):
        assert len(encoding.ids) <= window, f"chunk {chunk.ordinal} has {len(encoding.ids)} tokens"
        assert " ".join(original[chunk.start_char:chunk.end_char].split()) == " ".join(chunk.text.split())
    sections = {s.name: (s.start, s.end) for s in cleaned.sections}
    assert all(c.section in sections for c in chunks)
    again = chunk_document(path.name, clean(original), plan, tokens)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]


def test_consecutive_chunks_overlap_by_whole_sentences(tokens):
    plan = ChunkPlan(chunk_tokens=60, overlap_tokens=20, max_tokens=254)
    text = " ".join(f"Sentence number {i} talks about the negotiations in Istanbul." for i in range(40))
    chunks = chunk_document("x.txt", clean(text), plan, tokens)
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:]):
        assert b.start_char < a.end_char, "no overlap"
        assert b.start_char > a.start_char, "no progress"


def test_a_sentence_longer_than_the_window_is_split_not_truncated(tokens):
    plan = ChunkPlan(chunk_tokens=50, overlap_tokens=10, max_tokens=254)
    text = "word " * 400 + "end."
    chunks = chunk_document("long.txt", clean(text), plan, tokens)
    assert len(chunks) >= 8
    assert all(c.n_tokens <= 50 for c in chunks)
    assert chunks[-1].text.endswith("end.")


def test_a_chunk_and_its_sentences_are_embedded_under_their_headings():
    from index.types import Chunk, SentenceSpan

    text = "The fillfactor is a percentage. 100 is the default."
    spans = (SentenceSpan(0, 31, 0, 31), SentenceSpan(32, 51, 32, 51))
    manual = Chunk("c1", "create_table.html", 0, text, 0, 51, section="CREATE TABLE › Storage Parameters › fillfactor",
                   sentences=spans)
    assert manual.indexed_text == f"CREATE TABLE › Storage Parameters › fillfactor\n{text}"
    # "100 is the default." alone is about nothing; under its heading it is about fillfactor
    assert manual.sentence_inputs() == ["CREATE TABLE › Storage Parameters › fillfactor\nThe fillfactor is a percentage.",
                                        "CREATE TABLE › Storage Parameters › fillfactor\n100 is the default."]
    page = Chunk("c2", "opinion.pdf", 0, text, 0, 51, section="page 3", sentences=spans)
    assert page.sentence_inputs() == page.sentence_texts() and page.indexed_text == text  # a page is not a heading
