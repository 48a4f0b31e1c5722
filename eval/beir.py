"""Public BEIR datasets by name: downloaded once into the cache folder, checksum-verified.

The project carries no copy of a public benchmark. `rag eval scifact` fetches BEIR's own zip from
its public address (`RAG_BEIR_URL`, the UKP mirror by default) into `RAG_CACHE_DIR/beir/`, checks
it against the md5 BEIR publishes for it, and unpacks only the files a BEIR folder needs. A
download that breaks off, or whose checksum differs, leaves nothing behind; a second run reads the
cache and needs no network. A path to a BEIR folder is always read as it is, offline.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from rag.errors import DownloadError, InputError

log = logging.getLogger(__name__)

# md5 of each zip as BEIR's README lists it (https://github.com/beir-cellar/beir#available-datasets).
CHECKSUMS = {
    "arguana": "8ad3e3c2a5867cdced806d6503f29b99",
    "climate-fever": "8b66f0a9126c521bae2bde127b4dc99d",
    "dbpedia-entity": "c2a39eb420a3164af735795df012ac2c",
    "fever": "5a818580227bfb4b35bb6fa46d9b6c03",
    "fiqa": "17918ed23cd04fb15047f73e6c3bd9d9",
    "hotpotqa": "f412724f78b0d91183a0e86805e16114",
    "msmarco": "444067daf65d982533ea17ebd59501e4",
    "nfcorpus": "a89dba18a62ef92f7d323ec890a0d38d",
    "nq": "d4d3d2e48787a744b6f6e691ff534307",
    "quora": "18fb154900ba42a600f84b839c173167",
    "scidocs": "38121350fc3a4d2f48850f6aff52e4a9",
    "scifact": "5f7d1de60b170fc8027bb7898e2efca1",
    "trec-covid": "ce62140cb23feb9becf6270d0d1fe6d1",
    "webis-touche2020": "46f650ba5a527fc69e0a6521c5a23563",
}
_WANTED = ("corpus.jsonl", "queries.jsonl")  # plus qrels/*.tsv
_DONE = ".complete"


def is_known(name: str) -> bool:
    return name.lower() in CHECKSUMS


def dataset_folder(name: str, cache_dir: Path, base_url: str, progress: bool = False) -> Path:
    """The unpacked BEIR folder for `name`, downloading and verifying it first when not cached."""
    name = name.lower()
    if name not in CHECKSUMS:
        raise InputError(f"'{name}' is not a BEIR dataset this tool knows ({', '.join(sorted(CHECKSUMS))}); "
                         "pass a path to a BEIR folder instead")
    target = cache_dir / "beir" / name
    if (target / _DONE).exists():
        return target
    url = f"{base_url.rstrip('/')}/{name}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as scratch:
        archive = Path(scratch) / f"{name}.zip"
        digest = _download(url, archive, progress)
        if digest != CHECKSUMS[name]:
            raise DownloadError(f"the download of {name} from {url} is corrupt or changed upstream: md5 {digest}, "
                                f"expected {CHECKSUMS[name]}; nothing was kept")
        unpacked = Path(scratch) / name
        _unpack(archive, unpacked, name)
        (unpacked / _DONE).write_text(CHECKSUMS[name])
        shutil.rmtree(target, ignore_errors=True)  # a folder from an interrupted run
        unpacked.rename(target)
    log.info("cached %s in %s", name, target)
    return target


def _download(url: str, path: Path, progress: bool) -> str:
    """Stream `url` into `path` with a progress bar; return the md5 of what arrived."""
    from tqdm import tqdm

    md5 = hashlib.md5()  # noqa: S324 - the checksum BEIR publishes, for integrity only
    try:
        with urllib.request.urlopen(url, timeout=60) as response, path.open("wb") as out:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=f"downloading {path.name}",
                      disable=not progress, leave=False) as bar:
                while block := response.read(1 << 16):
                    out.write(block)
                    md5.update(block)
                    bar.update(len(block))
            if size is not None and out.tell() != size:
                raise DownloadError(f"the download from {url} broke off after {out.tell():,} of {size:,} bytes")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"cannot download {url} ({reason}); on a machine without internet, download it "
                            "elsewhere and pass the unpacked BEIR folder's path instead") from None
    return md5.hexdigest()


def _unpack(archive: Path, target: Path, name: str) -> None:
    """Only corpus, queries and qrels, each checked to stay inside `target` (no `..`, no absolute path)."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = {}
            for info in zipped.infolist():
                parts = PurePosixPath(info.filename).parts
                if info.is_dir() or len(parts) < 2 or ".." in parts or info.filename.startswith("/"):
                    continue
                inner = PurePosixPath(*parts[1:])  # below the zip's top folder
                if str(inner) in _WANTED or (inner.parent.name == "qrels" and len(inner.parts) == 2
                                             and inner.suffix == ".tsv"):
                    members[inner] = info
            if not {PurePosixPath(w) for w in _WANTED} <= set(members):
                raise DownloadError(f"the {name} zip is not a BEIR dataset (no corpus.jsonl and queries.jsonl)")
            for inner, info in members.items():
                destination = target.joinpath(*inner.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(info) as source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out)
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"the {name} download is not a zip file ({exc})") from None
