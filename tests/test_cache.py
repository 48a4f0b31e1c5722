"""The shared caches: bounded, least-recently-used, and safe when many answers run at once."""

from __future__ import annotations

import random
import threading

import pytest

from rag.cache import LruCache

QUESTIONS = (
    "Who heads the Russian delegation?",
    "How did the US role in the talks change under Trump?",
    "What does China think about the negotiations?",
    "Which two countries could act as mediators according to Jensen?",
    "Why did the talks in Istanbul stall?",
    "What is the Istanbul Communiqué?",
)


def _fetch(calls):
    def fetch(keys):
        calls.append(list(keys))
        return {k: k.upper() for k in keys if k != "gone"}
    return fetch


def test_full_cache_evicts_the_least_recently_used_and_still_answers_every_key():
    calls = []
    cache = LruCache(3)
    assert cache.get_many(["a", "b"], _fetch(calls)) == {"a": "A", "b": "B"}
    assert cache.get_many(["a"], _fetch(calls)) == {"a": "A"} and len(calls) == 1  # a is now the newest
    assert cache.get_many(["c", "d", "gone"], _fetch(calls)) == {"c": "C", "d": "D"}  # "gone": fetch left it out
    assert calls[-1] == ["c", "d", "gone"]
    assert len(cache) == 3 and cache.get("b") is None and cache.get("a") == "A"  # b was the oldest
    assert cache.get_or_make("e", lambda: "E") == "E" and cache.get_or_make("e", lambda: "other") == "E"


def test_a_cache_holds_at_least_one_entry():
    with pytest.raises(ValueError):
        LruCache(0)


def test_many_threads_on_a_small_cache_get_what_one_thread_gets():
    """The self-clearing dicts this replaces lost keys between one thread's check and its read."""
    cache = LruCache(8)
    rng = random.Random(14)
    requests = [[f"k{rng.randrange(40)}" for _ in range(rng.randrange(1, 12))] for _ in range(400)]
    expected = [{k: k.upper() for k in keys} for keys in requests]
    wrong = []

    def work(offset):
        for i in range(len(requests)):
            n = (i + offset) % len(requests)
            got = cache.get_many(requests[n], lambda keys: {k: k.upper() for k in keys})
            if got != expected[n]:
                wrong.append((requests[n], got))

    threads = [threading.Thread(target=work, args=(t * 37,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == [] and len(cache) <= 8


@pytest.mark.slow  # four threads of searches
def test_concurrent_searches_with_tiny_caches_match_a_single_threaded_run(seeds_index, monkeypatch):
    """A real retriever whose chunk, vector, text and sentence caches hold only a few entries,
    searched by 4 threads at once: every result equals the single-threaded one."""
    from rag import rescore
    from rag.assistant import Assistant
    from rag.config import RagConfig

    for name in ("_TERMS_CACHE", "_PAIRS_CACHE", "_CANDIDATES_CACHE"):
        monkeypatch.setattr(rescore, name, LruCache(5))
    assistant = Assistant(RagConfig.from_env({}, data_dir=seeds_index))
    retriever = assistant.parts.retriever
    retriever._chunks, retriever._sentence_vectors, retriever._doc_texts = LruCache(7), LruCache(7), LruCache(2)

    def snapshot(question):
        return [(h.chunk_id, round(h.score, 6), [(s.start_char, round(s.score, 6)) for s in h.sentences])
                for h in assistant.search(question, k=5)]

    expected = {q: snapshot(q) for q in QUESTIONS}
    wrong = []

    def work(offset):
        for i in range(30):
            question = QUESTIONS[(i + offset) % len(QUESTIONS)]
            got = snapshot(question)
            if got != expected[question]:
                wrong.append(question)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assistant.close()
    assert wrong == []
