"""A damaged index is named by `rag status`, repaired by the command it names, and never a traceback.

Each damage is done to a copy of one clean index of two seed files; the repaired index must
give exactly the search results of that clean build. The in-process CLI is used throughout (the
model stays loaded); every copy lives at a new path, so Chroma's per-folder cache never hands a
test an instance opened before the damage.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from index import health
from tests.conftest import SEEDS, run_subprocess

FILES = ("000_51828c4c6a9453e8.txt", "002_52652048721d3da2.txt")
QUERIES = ("Which countries could act as mediators?", "prisoner exchange in Abu Dhabi",
           "Is a breakthrough in the negotiations likely?")


# Repairs must end where a clean build ends, whatever the vectors mean: the hashing stand-in
# embeds here (no model to load); the real model's vectors are checked in test_index_incremental.
FAKE = {"RAG_EMBED_MODEL": "fake"}


@pytest.fixture
def cli(cli):
    """conftest's `cli`, with the fake embedder."""
    return lambda *args, env=None: cli(*args, env={**FAKE, **(env or {})})


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("small-corpus")
    for name in FILES:
        shutil.copy(SEEDS / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def clean_index(small_corpus, tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("clean-index")
    result = run_subprocess("index", small_corpus, env={"RAG_DATA_DIR": data_dir, **FAKE})
    assert result.returncode == 0, result.stderr
    return data_dir


_BASELINE: dict[str, list] = {}


def _results(cli, data_dir: Path) -> list:
    """(chunk id, score) of the top hits for each query."""
    runs = []
    for query in QUERIES:
        result = cli("search", query, "--json", "-k", "5", env={"RAG_DATA_DIR": data_dir})
        assert result.code == 0, result.err
        runs.append([(h["chunk_id"], h["score"]) for h in result.json()])
    return runs


def _same_results(got: list, expected: list) -> None:
    """The same hits in the same order, with the same scores. Scores are compared to 1e-5: chunks
    embedded again in a batch of other texts than in the clean build differ in the last float bits
    (padding changes the matrix shapes), which moves a score's sixth decimal now and then."""
    assert [[cid for cid, _ in run] for run in got] == [[cid for cid, _ in run] for run in expected]
    for run, want in zip(got, expected):
        assert [score for _, score in run] == pytest.approx([score for _, score in want], abs=1e-5)


def _baseline(cli, clean_index: Path) -> list:
    if str(clean_index) not in _BASELINE:
        _BASELINE[str(clean_index)] = _results(cli, clean_index)
    return _BASELINE[str(clean_index)]


def _copy(clean_index: Path, target: Path) -> Path:
    """A private copy of the clean index (the ONNX export, 90 MB and only read, is linked)."""
    shutil.copytree(clean_index, target, ignore=shutil.ignore_patterns("onnx", "index.lock*"))
    (target / "onnx").symlink_to(clean_index / "onnx", target_is_directory=True)
    return target


def _one_line_error(result, *words: str) -> None:
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for word in words:
        assert word in lines[0], (word, lines[0])


# --- the damages -------------------------------------------------------------------------

def _truncate_chroma(data_dir: Path) -> None:
    os.truncate(data_dir / "chroma" / "chroma.sqlite3", 1000)


def _overwrite(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _overwrite_chroma(data_dir: Path) -> None:
    _overwrite(data_dir / "chroma" / "chroma.sqlite3")


def _overwrite_manifest(data_dir: Path) -> None:
    _overwrite(data_dir / "manifest.sqlite")


def _truncate_manifest(data_dir: Path) -> None:
    path = data_dir / "manifest.sqlite"
    os.truncate(path, path.stat().st_size // 2)


def _manifest_becomes_a_folder(data_dir: Path) -> None:
    (data_dir / "manifest.sqlite").unlink()
    (data_dir / "manifest.sqlite").mkdir()


def _delete_bm25(data_dir: Path) -> None:
    for folder in data_dir.glob("bm25-*"):
        shutil.rmtree(folder)


def _delete_hnsw_folder(data_dir: Path) -> None:
    segments = [p for p in (data_dir / "chroma").iterdir() if p.is_dir()]
    assert len(segments) == 1, segments
    shutil.rmtree(segments[0])


def _delete_some_vectors(data_dir: Path) -> None:
    from index.vectors import VectorStore, connect

    store = VectorStore(connect(data_dir, None), "rag-chunks")
    store.open(None, None, create=False)
    store.delete(sorted(store.ids())[:3])


# name: (damage, the problem kind status names, whether the repair is --rebuild)
DAMAGES = {
    "truncated-chroma": (_truncate_chroma, health.STORE_DAMAGED, True),
    "overwritten-chroma": (_overwrite_chroma, health.STORE_DAMAGED, True),
    "overwritten-manifest": (_overwrite_manifest, health.MANIFEST_DAMAGED, True),
    "truncated-manifest": (_truncate_manifest, health.MANIFEST_DAMAGED, True),
    "manifest-is-a-folder": (_manifest_becomes_a_folder, health.MANIFEST_DAMAGED, True),
    "deleted-bm25-folder": (_delete_bm25, health.LEXICAL_DAMAGED, False),
    "deleted-hnsw-folder": (_delete_hnsw_folder, health.VECTOR_INDEX_DAMAGED, False),
    "deleted-vectors": (_delete_some_vectors, health.VECTORS_MISMATCH, False),
}


def test_a_healthy_index_says_so(cli, clean_index, tmp_path):
    data_dir = _copy(clean_index, tmp_path / "data")
    result = cli("status", env={"RAG_DATA_DIR": data_dir})
    assert result.code == 0 and "health:    ok" in result.out and not result.err
    assert cli("status", "--json", env={"RAG_DATA_DIR": data_dir}).json()["problems"] == []


@pytest.mark.parametrize("name", DAMAGES)
def test_damage_is_named_and_repaired_to_the_clean_build(name, cli, clean_index, small_corpus, tmp_path):
    damage, kind, needs_rebuild = DAMAGES[name]
    expected = _baseline(cli, clean_index)
    data_dir = _copy(clean_index, tmp_path / "data")
    env = {"RAG_DATA_DIR": data_dir}
    damage(data_dir)

    status = cli("status", "--json", env=env)
    assert status.code == 1, status.out
    problems = status.json()["problems"]
    assert kind in [p["kind"] for p in problems], problems
    fix = next(p["fix"] for p in problems if p["kind"] == kind)
    assert ("--rebuild" in fix) == needs_rebuild, fix
    text = cli("status", env=env)
    assert text.code == 1 and "Traceback" not in text.err
    assert all(line.startswith("problem: ") for line in text.err.strip().splitlines()), text.err

    if needs_rebuild:
        plain = cli("index", small_corpus, env=env)
        _one_line_error(plain, "--rebuild", str(small_corpus))
        repaired = cli("index", small_corpus, "--rebuild", env=env)
    else:
        repaired = cli("index", small_corpus, env=env)
    assert repaired.code == 0, repaired.err
    assert "Traceback" not in repaired.err
    if kind in (health.STORE_DAMAGED, health.MANIFEST_DAMAGED):
        assert "repaired: moved the damaged " in repaired.out, repaired.out
        assert list(data_dir.glob("*.damaged-*")), "the damaged part is kept aside"
    elif needs_rebuild is False:
        assert "repaired: " in repaired.out, repaired.out

    after = cli("status", "--json", env=env)
    assert after.code == 0 and after.json()["problems"] == [], after.out
    _same_results(_results(cli, data_dir), expected)


@pytest.mark.parametrize("name", DAMAGES)
def test_a_damaged_index_fails_in_one_line(name, cli, clean_index, tmp_path):
    """search and ask on the damaged index: the answer, or one line naming the repair."""
    damage, kind, needs_rebuild = DAMAGES[name]
    data_dir = _copy(clean_index, tmp_path / "data")
    env = {"RAG_DATA_DIR": data_dir}
    damage(data_dir)
    for command in (("search", QUERIES[0]), ("ask", QUERIES[0]), ("search", "--mode", "lexical", QUERIES[1])):
        result = cli(*command, env=env)
        if kind in (health.VECTOR_INDEX_DAMAGED, health.VECTORS_MISMATCH):
            # Chroma rebuilds a small lost HNSW folder from its log; missing vectors only miss
            assert result.code == 0, result.err
            continue
        _one_line_error(result, "repair it with `rag index")
        if needs_rebuild:
            assert "--rebuild" in result.err


def test_a_lost_hnsw_index_after_a_flush_is_found(tmp_path):
    """Past Chroma's sync threshold (1000 vectors) a deleted HNSW folder loses vectors that its
    records still list: the folder check, and after Chroma recreated it the sample check, say so."""
    import numpy as np

    from index.vectors import VectorStore, connect, forget, lost_segment

    ids = [f"chunk-{i:05d}" for i in range(1500)]
    store = VectorStore(connect(tmp_path, None), "rag-chunks")
    store.open("test-model", 8, create=True)
    vectors = np.random.default_rng(0).random((len(ids), 8), dtype=np.float32)
    store._collection.upsert(ids=ids, embeddings=vectors)

    class Manifest:
        def roots(self):
            return ["/corpus"]

        def chunk_ids(self):
            return set(ids)

        def get_meta(self, key, default=None):
            return {"state": "clean", "bm25": ""}.get(key, default)

    assert health.check_index(tmp_path, Manifest(), lambda: store)[0].kind == health.LEXICAL_DAMAGED
    forget(tmp_path / "chroma")  # as if the process ended: the next one reads the folder again
    segment = next(p for p in (tmp_path / "chroma").iterdir() if p.is_dir())
    shutil.rmtree(segment)
    assert lost_segment(tmp_path, "rag-chunks") == segment
    store = VectorStore(connect(tmp_path, None), "rag-chunks")
    kinds = [p.kind for p in health.check_index(tmp_path, Manifest(), lambda: store)]
    assert kinds[0] == health.VECTOR_INDEX_DAMAGED
    store.count()  # Chroma recreates the folder from what its log still holds
    assert segment.is_dir() and lost_segment(tmp_path, "rag-chunks") is None
    kinds = [p.kind for p in health.check_index(tmp_path, Manifest(), lambda: store)]
    assert kinds[0] == health.VECTOR_INDEX_DAMAGED


# --- a data folder we may not write ------------------------------------------------------

def _make_read_only(data_dir: Path):
    """Make `data_dir` refuse writes, also to root, and return the undo; skip where impossible.

    chmod does not bind root, so as root every folder and file gets the immutable flag
    (`chattr +i`, which root obeys too); elsewhere the write bits go. Either way the folder is
    then probed, and the test skipped if a write still succeeds (no chattr, a filesystem without
    the flag, no CAP_LINUX_IMMUTABLE in a container)."""
    paths = [data_dir, *(p for p in data_dir.rglob("*") if not p.is_symlink())]
    if os.geteuid() == 0:
        flag = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
        if flag.returncode != 0:
            pytest.skip(f"chattr +i is refused here: {flag.stderr.decode().strip()}")

        def undo():
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
    else:
        modes = {p: p.stat().st_mode for p in paths}
        for p in reversed(paths):
            p.chmod(modes[p] & ~0o222)

        def undo():
            for p in paths:
                p.chmod(modes[p])
    try:
        (data_dir / "probe").write_text("x")
    except OSError:
        return undo
    undo()
    (data_dir / "probe").unlink()
    pytest.skip("the data folder stays writable here")


def test_a_read_only_data_folder_is_one_line(cli, clean_index, small_corpus, tmp_path):
    expected = _baseline(cli, clean_index)
    data_dir = _copy(clean_index, tmp_path / "data")
    env = {"RAG_DATA_DIR": data_dir}
    undo = _make_read_only(data_dir)
    try:
        status = cli("status", "--json", env=env)
        assert status.code == 1
        assert [p["kind"] for p in status.json()["problems"]] == [health.NOT_WRITABLE]
        for command in (("search", QUERIES[0]), ("ask", QUERIES[0]), ("index", small_corpus),
                        ("index", small_corpus, "--rebuild")):
            _one_line_error(cli(*command, env=env), "not writable")
    finally:
        undo()
    assert cli("status", env=env).code == 0
    _same_results(_results(cli, data_dir), expected)


# --- absurd k, hostile text, the chat --------------------------------------------------

def test_a_huge_k_is_refused_in_one_line(cli, clean_index, tmp_path):
    env = {"RAG_DATA_DIR": clean_index}
    for command in ("search", "ask"):
        _one_line_error(cli(command, "-k", "99999999999999999999", QUERIES[0], env=env), "-k")
        _one_line_error(cli(command, "-k", "0", QUERIES[0], env=env), "-k")
    assert cli("search", "-k", "1000", QUERIES[0], "--json", env=env).code == 0


def test_the_api_holds_k_to_the_same_limit_as_every_edge(clean_index):
    from rag import Assistant, RagConfig
    from rag.assistant import MAX_K
    from rag.errors import InputError

    assistant = Assistant(RagConfig(data_dir=clean_index, embed_model="fake"))
    try:
        with pytest.raises(InputError, match=f"k must be between 1 and {MAX_K:,}"):
            assistant.search(QUERIES[0], k=10**20)
        hits = assistant.search(QUERIES[0], k=MAX_K)
        assert 0 < len(hits) <= assistant.status().chunks
    finally:
        assistant.close()


HOSTILE = ("The Zorblax bulletin.\x1b]0;pwned title\x07 Floods \x1b[2J\x1b[31mred alert\x1b[0m come in spring"
           " \u009b31m each year. Boats move to higher ground before the Zorblax floods arrive.\r\n"
           "A second line about the Zorblax river.\n")


def test_control_characters_in_documents_are_shown_not_sent(cli, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bulletin.txt").write_text(HOSTILE, encoding="utf-8")
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", corpus, env=env).code == 0
    for command in (("search", "Zorblax floods"), ("ask", "When do the Zorblax floods come?")):
        result = cli(*command, env=env)
        assert result.code == 0, result.err
        printed = result.out + result.err
        assert not any(ch in printed for ch in "\x1b\x07\x9b\r"), repr(printed)
        assert "\\x1b[2J" in result.out
        raw = cli(*command, "--json", env=env)
        assert not any(ch in raw.out for ch in "\x1b\x07\x9b"), "JSON escapes every control character"
        assert any("\x1b[2J" in text for text in _strings(raw.json())), "and keeps the text as it is"


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("name", ["overwritten-chroma", "overwritten-manifest", "deleted-bm25-folder"])
def test_chat_starts_on_a_damaged_index_and_says_why(name, cli, clean_index, tmp_path, monkeypatch):
    import ui.launch
    from rag import Assistant, RagConfig
    from ui.chat import ChatService

    damage, kind, _ = DAMAGES[name]
    data_dir = _copy(clean_index, tmp_path / "data")
    damage(data_dir)
    launched = []
    monkeypatch.setattr(ui.launch, "launch", lambda config, share=False: launched.append(config))
    result = cli("chat", env={"RAG_DATA_DIR": data_dir})
    assert result.code == 0 and launched, result.err
    assert "Traceback" not in result.err and "warning: " in result.err and "repair it with" in result.err

    service = ChatService(Assistant(RagConfig(data_dir=data_dir)))
    service.warm()  # logs why it could not warm up; raises nothing
    sidebar = service.status_markdown()
    assert "documents" in sidebar and "⚠️" in sidebar and "repair it with" in sidebar
    assert kind in [p.kind for p in service.assistant.health()]
    service.assistant.close()


def test_status_during_an_index_run_does_not_call_it_damage(cli, clean_index, tmp_path):
    from index.lock import write_lock

    data_dir = _copy(clean_index, tmp_path / "data")
    with write_lock(data_dir, timeout=1):
        result = cli("status", env={"RAG_DATA_DIR": data_dir})
    assert result.code == 0 and "not checked" in result.out and "is writing the index now" in result.out
    empty = cli("status", "--json", env={"RAG_DATA_DIR": tmp_path / "nothing-here"})
    assert empty.code == 0 and empty.json()["problems"] == [] and empty.json()["documents"] == 0
