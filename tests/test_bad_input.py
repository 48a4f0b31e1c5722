"""Every kind of bad file gets its own message; the run goes on and nothing indexed is lost."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from index.decode import decode
from index.manifest import Manifest
from tests.conftest import SEEDS, run_subprocess

TEXT = (
    "Café talks in Zürich: the delegates’ “final” offer – a ceasefire – was rejected. "
    "Negotiators met again the next morning and agreed on a prisoner exchange.\n"
)


def _failed(summary: dict) -> dict[str, str]:
    return {Path(f["path"]).name: f["reason"] for f in summary["failed"]}


# What these tests check is which files are read, refused and kept, not what the vectors mean: the
# hashing stand-in embeds (no model to load in each `rag index` process).
FAKE = {"RAG_EMBED_MODEL": "fake"}


@pytest.fixture
def cli(cli):
    """conftest's `cli`, with the fake embedder."""
    return lambda *args, env=None: cli(*args, env={**FAKE, **(env or {})})


def test_each_bad_file_is_reported_and_the_rest_is_indexed(cli, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEEDS / "000_51828c4c6a9453e8.txt", docs / "good.txt")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "blank.md").write_text("   \n\n  ")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 8)
    random.seed(7)
    (docs / "garbage.txt").write_bytes(bytes(random.randrange(0x80, 0x100) for _ in range(400)))
    (docs / "huge.txt").write_text("big words here. " * 80_000)
    outside = tmp_path / "secret.txt"
    outside.write_text("a secret outside the indexed folder")
    (docs / "link-out.txt").symlink_to(outside)
    (docs / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    (docs / "picture.png").write_bytes(b"\x89PNG\r\n")
    env = {"RAG_DATA_DIR": tmp_path / "data", "RAG_MAX_FILE_MB": "1"}

    result = cli("index", docs, tmp_path / "no-such-folder", "--json", env=env)
    assert result.code == 1, "partial failure must show in the exit code"
    summary = result.json()
    failed = _failed(summary)
    assert failed["empty.txt"] == "empty file"
    assert failed["blank.md"] == "empty file"
    assert "binary" in failed["binary.txt"]
    assert "invalid UTF-8" in failed["garbage.txt"]
    assert "over the 1.0 MB limit" in failed["huge.txt"]
    assert "outside the indexed folder" in failed["link-out.txt"]
    assert failed["dangling.txt"] == "broken symlink"
    assert failed["no-such-folder"] == "path does not exist"
    assert summary["added"] == ["good.txt"]
    assert any("picture.png" in s["path"] and "unsupported" in s["reason"] for s in summary["skipped"])

    plain = cli("index", docs, env=env)
    assert "failed: " in plain.err and "binary.txt: binary file" in plain.err
    assert "0 added" in plain.out and "1 unchanged" in plain.out

    hits = cli("search", "secret outside", "--json", "--mode", "lexical", env=env).json()
    assert all("secret" not in h["text"] for h in hits)


def test_a_file_that_turns_bad_keeps_its_indexed_version(cli, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEEDS / "002_52652048721d3da2.txt", docs / "a.txt")
    shutil.copy(SEEDS / "000_51828c4c6a9453e8.txt", docs / "b.txt")
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", docs, env=env).code == 0
    manifest = Manifest(tmp_path / "data" / "manifest.sqlite", readonly=True)
    before = manifest.chunk_ids(["a.txt"])
    manifest.close()
    (docs / "a.txt").write_bytes(b"\x00\x01binary now")
    result = cli("index", docs, "--json", env=env)
    assert result.code == 1 and "a.txt" in _failed(result.json())
    manifest = Manifest(tmp_path / "data" / "manifest.sqlite", readonly=True)
    assert manifest.chunk_ids(["a.txt"]) == before
    manifest.close()
    hits = cli("search", "trilateral talks cessation of hostilities", "--json", env=env).json()
    assert hits[0]["source"] == "a.txt"


def test_documents_that_turn_bad_in_every_way_keep_their_indexed_version(cli, tmp_path):
    """A FIFO, a broken link, a link out of the folder and an unlistable subfolder where indexed
    files were: each is reported once as failed, saying the indexed version is kept; none is removed."""
    docs = tmp_path / "docs"
    (docs / "sub" / "deeper").mkdir(parents=True)
    names = {"fifo.txt": "000_51828c4c6a9453e8.txt", "broken.txt": "001_6930dc61861687c8.txt",
             "out.txt": "002_52652048721d3da2.txt", "sub/one.txt": "003_3e3242ad02214520.txt",
             "sub/deeper/two.txt": "004_f82a6b2ea7b39292.txt"}
    for name, seed in names.items():
        shutil.copy(SEEDS / seed, docs / name)
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", docs, env=env).code == 0
    manifest = Manifest(tmp_path / "data" / "manifest.sqlite", readonly=True)
    before = {name: manifest.chunk_ids([name]) for name in names}
    manifest.close()

    (docs / "fifo.txt").unlink()
    os.mkfifo(docs / "fifo.txt")
    (docs / "broken.txt").unlink()
    (docs / "broken.txt").symlink_to(tmp_path / "gone.txt")
    (tmp_path / "elsewhere.txt").write_text(TEXT)
    (docs / "out.txt").unlink()
    (docs / "out.txt").symlink_to(tmp_path / "elsewhere.txt")
    os.chmod(docs / "sub", 0)
    prefix = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
    try:
        result = run_subprocess("index", docs, "--json", env={**FAKE, **env}, prefix=prefix)
    finally:
        os.chmod(docs / "sub", stat.S_IRWXU)
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["removed"] == [] and "Traceback" not in result.stderr
    reasons = {Path(f["path"]).relative_to(docs).as_posix(): f["reason"] for f in summary["failed"]}
    assert sorted(reasons) == ["broken.txt", "fifo.txt", "out.txt", "sub"], reasons
    assert reasons["fifo.txt"].startswith("not a regular file") and reasons["fifo.txt"].endswith("indexed version is kept")
    assert reasons["broken.txt"] == "broken symlink; its indexed version is kept"
    assert "outside the indexed folder" in reasons["out.txt"] and "kept" in reasons["out.txt"]
    assert reasons["sub"].startswith("cannot list folder") and reasons["sub"].endswith("indexed under it are kept")
    manifest = Manifest(tmp_path / "data" / "manifest.sqlite", readonly=True)
    assert {name: manifest.chunk_ids([name]) for name in names} == before
    manifest.close()


def test_unreadable_file_is_reported(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "locked.txt").write_text(TEXT)
    (docs / "open.txt").write_text(TEXT.replace("Café", "Tea"))
    os.chmod(docs / "locked.txt", 0)
    # root reads anything: drop the capabilities that let it, as setpriv(1) does
    prefix = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
    try:
        result = run_subprocess("index", docs, "--json", env={"RAG_DATA_DIR": tmp_path / "data", **FAKE},
                                prefix=prefix)
    finally:
        os.chmod(docs / "locked.txt", stat.S_IRUSR | stat.S_IWUSR)
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert _failed(summary)["locked.txt"] == "cannot read: permission denied"
    assert summary["added"] == ["open.txt"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_encodings_decode_to_identical_text(encoding):
    text, used = decode(TEXT.encode(encoding))
    assert text == TEXT, used


def test_same_text_in_four_encodings_indexes_once(cli, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, encoding in [("a-utf8.txt", "utf-8"), ("b-bom.txt", "utf-8-sig"),
                           ("c-utf16.txt", "utf-16"), ("d-cp1252.txt", "cp1252")]:
        (docs / name).write_bytes((TEXT * 3).encode(encoding))
    result = cli("index", docs, "--json", env={"RAG_DATA_DIR": tmp_path / "data"})
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["duplicates"] == {n: "a-utf8.txt" for n in ("b-bom.txt", "c-utf16.txt", "d-cp1252.txt")}


def test_nfc_and_nfd_give_the_same_chunk_ids(cli, tmp_path):
    ids = []
    for form in ("NFC", "NFD"):
        docs = tmp_path / form / "docs"
        docs.mkdir(parents=True)
        (docs / "note.txt").write_text(unicodedata.normalize(form, TEXT * 3), encoding="utf-8")
        assert cli("index", docs, env={"RAG_DATA_DIR": tmp_path / form / "data"}).code == 0
        manifest = Manifest(tmp_path / form / "data" / "manifest.sqlite", readonly=True)
        ids.append(manifest.chunk_ids())
        manifest.close()
    assert ids[0] and ids[0] == ids[1]


def test_invisible_characters_do_not_reach_the_index(cli, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    sneaky = TEXT.replace("ceasefire", "cease\u200bfire").replace("prisoner", "pri\u202esoner\u202c")
    (docs / "sneaky.txt").write_text("\ufeff" + sneaky * 2, encoding="utf-8")
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", docs, env=env).code == 0
    hits = cli("search", "prisoner exchange ceasefire", "--json", "--mode", "lexical", env=env).json()
    assert hits and "ceasefire" in hits[0]["text"] and "prisoner" in hits[0]["text"]
    assert not any(ch in hits[0]["text"] for ch in "\u200b\u202e\u202c\ufeff")
    original = Path(docs / "sneaky.txt").read_text(encoding="utf-8")
    assert "\u200b" in original[hits[0]["start_char"]:hits[0]["end_char"]], "spans index the original"


def test_query_with_another_model_names_both_and_the_fix(cli, seeds_index):
    result = cli("search", "anything", env={"RAG_DATA_DIR": seeds_index,
                                             "RAG_EMBED_MODEL": "BAAI/bge-small-en-v1.5"})
    assert result.code == 2
    message = result.err.strip()
    assert message.count("\n") == 0, "one clear line, no traceback"
    assert "sentence-transformers/all-MiniLM-L6-v2" in message and "BAAI/bge-small-en-v1.5" in message
    assert "--rebuild" in message and "RAG_EMBED_MODEL" in message


def test_user_mistakes_are_one_line_errors(cli, tmp_path):
    empty = cli("search", "   ", env={"RAG_DATA_DIR": tmp_path / "data"})
    assert empty.code == 2 and empty.err.strip() == "error: the query is empty"
    missing = cli("search", "hello", env={"RAG_DATA_DIR": tmp_path / "nothing"})
    assert missing.code == 2 and "rag index PATH" in missing.err and "Traceback" not in missing.err
    bad = cli("status", env={"RAG_TOP_K": "many"})
    assert bad.code == 2 and "RAG_TOP_K" in bad.err
    for value in ("nan", "inf", "-inf"):  # nan passes every range check and turns every score into nan
        weight = cli("status", env={"RAG_LEXICAL_WEIGHT": value})
        assert weight.code == 2 and weight.err.strip() == f"error: RAG_LEXICAL_WEIGHT='{value}' is not a finite number"
    from index.errors import ConfigError
    from rag.config import RagConfig

    with pytest.raises(ConfigError, match="lexical_weight must be a finite number"):
        RagConfig(lexical_weight=float("nan"))


def test_help_is_instant_because_nothing_heavy_is_imported():
    code = (
        "import sys; from rag.cli import main, build_parser; import rag; build_parser().format_help();"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'chromadb', 'onnxruntime', 'bm25s', 'transformers')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
