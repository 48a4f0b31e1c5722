"""`RAG_SENTENCE_VECTORS=lazy`: an index made with one forward pass per chunk answers as an exact
one does, with each retrieved chunk's sentence vectors made once, kept beside the manifest for
every process, and forgotten with the chunk.

The mechanics are checked with the hashing embedder (`fake`: deterministic, no quality claimed);
that lazy answers score as exact ones do with the real model is the eval's figure (docs/scale.md)
and `test_lazy_and_exact_answer_alike_with_the_real_model`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index import datadir
from index.manifest import Manifest
from index.sentence_cache import TABLE
from rag import Assistant
from rag.config import RagConfig

QUESTIONS = ["Which keeper lit the lamp on the north tower?", "What burned all night in the harbour?",
             "When did the ferry stop running?"]


def write_docs(folder: Path) -> Path:
    folder.mkdir()
    for i in range(6):
        (folder / f"log-{i}.md").write_text(
            f"# Lighthouse log {i}\n\n## Night watch\n\n"
            f"Keeper {i} lit the lamp on the north tower at dusk. The oil burned all night in the harbour. "
            f"A gale came from the west on day {i}, and the ferry stopped running until noon.\n\n"
            f"## Supplies\n\nThe boat brought {i + 3} barrels of oil. The bread ran short by the end of the week. "
            f"Nobody saw the mail boat for {i + 1} days.\n")
    return folder


def assistant(data: Path, mode: str, **extra) -> Assistant:
    return Assistant(RagConfig.from_env({}, data_dir=data, embed_model="fake", sentence_vectors=mode, **extra))


def cached_rows(data: Path) -> int:
    """Sentence vectors kept in the cache file (one per distinct sentence input)."""
    path = datadir.sentence_cache(data)
    if not path.exists():
        return 0
    db = sqlite3.connect(path)
    try:
        found = db.execute("SELECT name FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone()
        return db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0] if found else 0  # file made, table not yet
    finally:
        db.close()


def sentence_inputs_of(data: Path) -> list[str]:
    """Every chunk's sentence inputs (under its headings), in the manifest's order, repeats kept."""
    manifest = Manifest(datadir.manifest(data), readonly=True)
    try:
        chunks = manifest.chunks_by_id(sorted(manifest.chunk_ids()))
        return [text for c in chunks.values() for text in c.sentence_inputs()]
    finally:
        manifest.close()


def answers(bot: Assistant) -> list:
    return [[(h.chunk_id, h.score, h.sentences) for h in bot.search(q, k=4)] for q in QUESTIONS]


def test_a_lazy_index_stores_no_sentence_vectors_and_answers_as_an_exact_one(tmp_path):
    docs = write_docs(tmp_path / "docs")
    exact, lazy = assistant(tmp_path / "exact", "exact"), assistant(tmp_path / "lazy", "lazy")
    exact.index([docs])
    report = lazy.index([docs])
    manifest = Manifest(datadir.manifest(tmp_path / "lazy"), readonly=True)
    ids = sorted(manifest.chunk_ids())
    assert manifest.sentence_vectors(ids) == {}, "no sentence vector is stored at index time"
    assert all(c.sentences for c in manifest.chunks_by_id(ids).values()), "the spans are stored"
    manifest.close()
    assert cached_rows(tmp_path / "lazy") == 0
    assert answers(lazy) == answers(exact), "same hits, same scores, same sentences to quote"
    made = cached_rows(tmp_path / "lazy")
    every = sentence_inputs_of(tmp_path / "lazy")
    assert 0 < made <= len(set(every)), "only retrieved chunks get sentence vectors"
    exact.close()
    lazy.close()


def test_vectors_made_by_one_process_are_read_by_the_next(tmp_path, monkeypatch):
    docs = write_docs(tmp_path / "docs")
    first = assistant(tmp_path / "data", "lazy")
    first.index([docs])
    before = answers(first)
    first.close()
    from index.sentence_cache import SentenceCache

    embedded: list[str] = []
    real = SentenceCache.vectors

    def counting(self, chunks):
        real_embed = self.embed
        self.embed = lambda texts: embedded.extend(texts) or real_embed(texts)
        try:
            return real(self, chunks)
        finally:
            self.embed = real_embed

    monkeypatch.setattr(SentenceCache, "vectors", counting)
    second = assistant(tmp_path / "data", "lazy")
    assert answers(second) == before
    assert embedded == [], "a chunk's sentences are embedded once, whichever process asks"
    second.close()


def test_removed_documents_take_their_sentence_vectors_with_them(tmp_path):
    docs = write_docs(tmp_path / "docs")
    bot = assistant(tmp_path / "data", "lazy")
    bot.index([docs])
    answers(bot)
    made = cached_rows(tmp_path / "data")
    for path in sorted(docs.iterdir())[:3]:
        path.unlink()
    bot.index([docs])
    assert cached_rows(tmp_path / "data") < made
    db = sqlite3.connect(datadir.sentence_cache(tmp_path / "data"))
    kept = {r[0] for r in db.execute(f"SELECT owner FROM {TABLE}")}
    db.close()
    manifest = Manifest(datadir.manifest(tmp_path / "data"), readonly=True)
    assert kept <= {chunk_id[:8] for chunk_id in manifest.chunk_ids()}
    manifest.close()
    bot.close()


def test_switching_between_lazy_and_exact_embeds_only_what_is_missing(tmp_path):
    docs = write_docs(tmp_path / "docs")
    exact = assistant(tmp_path / "data", "exact")
    first = exact.index([docs])
    exact.close()
    lazy = assistant(tmp_path / "data", "lazy")
    assert lazy.index([docs]).chunks_written == 0, "an exact index already holds what lazy would make"
    (docs / "log-new.md").write_text("# Later\n\nThe relief keeper arrived by the mail boat on Sunday.\n")
    assert lazy.index([docs]).chunks_written == 1
    lazy.close()
    back = assistant(tmp_path / "data", "exact")
    report = back.index([docs])
    assert report.chunks_written == 1 and report.changed == ["log-new.md"], \
        "only the document indexed lazily is embedded again"
    manifest = Manifest(datadir.manifest(tmp_path / "data"), readonly=True)
    ids = manifest.chunk_ids()
    assert len(manifest.sentence_vectors(sorted(ids))) == len(ids) == first.chunks_written + 1
    manifest.close()
    back.close()


def test_a_read_only_data_folder_keeps_the_vectors_in_memory(tmp_path):
    docs = write_docs(tmp_path / "docs")
    bot = assistant(tmp_path / "data", "lazy")
    bot.index([docs])
    bot.close()
    reader = assistant(tmp_path / "data", "lazy")
    path = datadir.sentence_cache(tmp_path / "data")
    path.mkdir()  # a path SQLite cannot open as a database, as a read-only folder refuses one
    assert all(hits for hits in answers(reader)), "questions are answered all the same"
    reader.close()


@pytest.mark.real_model
def test_lazy_and_exact_answer_alike_with_the_real_model(tmp_path):
    from tests.conftest import SEEDS, TRUMP_QUESTION

    found = {}
    for mode in ("exact", "lazy"):
        bot = Assistant(RagConfig.from_env({}, data_dir=tmp_path / mode, sentence_vectors=mode))
        bot.index([SEEDS])
        answer = bot.ask(TRUMP_QUESTION)
        found[mode] = (answer.text, [(c.source, c.start_char, c.end_char) for c in answer.citations])
        bot.close()
    assert found["lazy"] == found["exact"]


def wait_for(condition, seconds: float = 30.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_serving_process_embeds_the_sentences_ahead_while_no_question_is_in_flight(tmp_path):
    docs = write_docs(tmp_path / "docs")
    bot = assistant(tmp_path / "data", "lazy")
    bot.index([docs])
    distinct = len(set(sentence_inputs_of(tmp_path / "data")))
    with bot.parts.busy():  # a question in flight
        bot.warm_sentences()
        assert not wait_for(lambda: cached_rows(tmp_path / "data") > 0, seconds=1.5), \
            "nothing is embedded ahead while a question is answered"
    assert wait_for(lambda: cached_rows(tmp_path / "data") == distinct), "every chunk's sentences, once idle"
    bot.close()


def test_the_warm_up_takes_up_a_new_generation_s_chunks(tmp_path):
    docs = write_docs(tmp_path / "docs")
    bot = assistant(tmp_path / "data", "lazy")
    bot.index([docs])
    first = len(set(sentence_inputs_of(tmp_path / "data")))
    bot.parts.warm_sentences()
    bot.parts._warmer.rest_s = 0.2  # look for new chunks soon after finishing
    assert wait_for(lambda: cached_rows(tmp_path / "data") == first)
    (docs / "log-new.md").write_text("# Later\n\nThe relief keeper arrived by the mail boat on Sunday.\n")
    writer = assistant(tmp_path / "data", "lazy")  # another process indexes
    writer.index([docs])
    writer.close()
    assert wait_for(lambda: cached_rows(tmp_path / "data") == len(set(sentence_inputs_of(tmp_path / "data")))), \
        "the new document's sentences too"
    assert cached_rows(tmp_path / "data") > first
    bot.close()


def test_a_chunk_without_sentences_costs_no_model_call(tmp_path):
    from index.sentence_cache import SentenceCache
    from index.types import Chunk

    called = []
    cache = SentenceCache(tmp_path / "sentences.sqlite", "fake", lambda texts: called.append(texts))
    bare = Chunk("c1", "d.md", 0, "----", 0, 4, "body", 1, sentences=())
    assert cache.vectors([bare])["c1"].shape[0] == 0 and called == []
    assert cache.vectors([bare])["c1"].shape[0] == 0, "and reads back from the file"
    cache.close()


def test_a_sentence_two_chunks_share_is_embedded_and_kept_once(tmp_path):
    from index.embedders.fake import HashingEmbedder
    from index.sentence_cache import SentenceCache
    from index.types import Chunk, SentenceSpan

    fake = HashingEmbedder()
    asked: list[str] = []
    cache = SentenceCache(tmp_path / "sentences.sqlite", "fake", lambda texts: asked.extend(texts) or fake.embed(texts))
    text_a, text_b = "One lamp. Two oil casks.", "Two oil casks. Three gulls."
    a = Chunk("a" * 32, "d.md", 0, text_a, 0, 24, "Log", 5, sentences=(SentenceSpan(0, 9, 0, 9), SentenceSpan(10, 24, 10, 24)))
    b = Chunk("b" * 32, "d.md", 1, text_b, 10, 37, "Log", 5, sentences=(SentenceSpan(0, 14, 10, 24), SentenceSpan(15, 27, 25, 37)))
    first = cache.vectors([a, b])
    assert sorted(asked) == sorted({"Log\nOne lamp.", "Log\nTwo oil casks.", "Log\nThree gulls."}), "each input once"
    assert np.array_equal(first["a" * 32][1], first["b" * 32][0]) and first["b" * 32].shape == (2, 384)
    asked.clear()
    again = SentenceCache(tmp_path / "sentences.sqlite", "fake", lambda texts: asked.extend(texts) or fake.embed(texts))
    assert all(np.array_equal(again.vectors([a, b])[c], first[c]) for c in first) and asked == [], "read back as made"
    assert cached_rows_at(tmp_path / "sentences.sqlite") == 3
    cache.close()
    again.close()


def cached_rows_at(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0]
    finally:
        db.close()
