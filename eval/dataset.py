"""Eval datasets: our JSONL question sets and BEIR folders, loaded into one form.

JSONL, one case a line: `id`, `question`, `sources` (files that answer it), `evidence` (strings
that occur verbatim in those files), optional `reference_answer`, `kind` and `pages` (for paged
sources: the pages the evidence lies on; a hit or a quote then counts only on one of them). A case without
evidence is one the corpus cannot answer. A BEIR folder (`corpus.jsonl`, `queries.jsonl`,
`qrels/test.tsv`, each optionally gzipped) gives the same cases with graded relevance in
`qrels`; its corpus is written out as one text file per document so `rag index` can read it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

from rag.errors import InputError

_REQUIRED = {"id": str, "question": str, "sources": list, "evidence": list}
_OPTIONAL = {"reference_answer": str, "kind": str, "split": str, "pages": list}


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    sources: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    reference_answer: str | None = None
    kind: str | None = None
    split: str = "all"  # "dev", "test", ...: reports show each split in its own column
    qrels: dict[str, int] = field(default_factory=dict)  # doc id -> graded relevance (BEIR)
    pages: tuple[int, ...] = ()  # paged sources: the 1-based pages the evidence lies on (page-exact gold)

    @property
    def answerable(self) -> bool:
        return bool(self.evidence) or bool(self.qrels)


@dataclass(frozen=True)
class Dataset:
    name: str
    cases: list[Case]
    corpus: Path  # a folder of documents to index
    graded: bool  # True for BEIR: score documents with qrels (nDCG), not evidence strings


def load_jsonl(path: Path, split: str | None = None) -> list[Case]:
    """Parse a JSONL question set; a malformed line raises InputError naming line and field.
    A case's split is its `split` field, else `split`, else the file's name."""
    cases: list[Case] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for number, row in _rows(lines, path):
            for name, kind in (_REQUIRED | _OPTIONAL).items():
                if name not in row:
                    if name in _REQUIRED:
                        raise InputError(f"{path}, line {number}: missing field '{name}'")
                    continue
                value = row[name]
                if value is not None and not isinstance(value, kind):
                    raise InputError(f"{path}, line {number}: field '{name}' must be a {kind.__name__}")
                if name == "pages" and not all(isinstance(v, int) and v > 0 for v in value):
                    raise InputError(f"{path}, line {number}: field 'pages' must be a list of page numbers (1, 2, ...)")
                if kind is list and name != "pages" and not all(isinstance(v, str) and v.strip() for v in value):
                    raise InputError(f"{path}, line {number}: field '{name}' must be a list of non-empty strings")
            if not row["question"].strip():
                raise InputError(f"{path}, line {number}: field 'question' is empty")
            if row["id"] in seen:
                raise InputError(f"{path}, line {number}: field 'id' repeats '{row['id']}'")
            seen.add(row["id"])
            cases.append(Case(
                id=row["id"], question=row["question"], sources=tuple(row["sources"]),
                evidence=tuple(row["evidence"]), reference_answer=row.get("reference_answer"),
                kind=row.get("kind"), split=row.get("split") or split or path.stem, pages=tuple(row.get("pages") or ()),
            ))
    if not cases:
        raise InputError(f"{path}: no cases")
    return cases


def _path(folder: Path, name: str) -> Path:
    """`folder/name`, or its gzipped copy; InputError naming both when neither is there."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.exists():
            return candidate
    raise InputError(f"{folder} is not a BEIR folder: {name} (or {name}.gz) is missing")


def _open(folder: Path, name: str):
    path = _path(folder, name)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def load_beir(folder: Path, cache: Path, max_queries: int | None = None, max_docs: int | None = None) -> Dataset:
    """Load a BEIR folder. `max_queries`/`max_docs` take a slice (relevant documents are always kept)."""
    qrels: dict[str, dict[str, int]] = {}
    with _open(folder, "qrels/test.tsv") as handle:
        for number, row in _rows(handle, folder / "qrels/test.tsv", tsv=True):
            try:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
            except (KeyError, TypeError, ValueError):
                raise InputError(f"{folder / 'qrels/test.tsv'}, line {number}: expected query-id, corpus-id and a "
                                 f"whole-number score") from None
    with _open(folder, "queries.jsonl") as handle:
        queries = list(_rows(handle, folder / "queries.jsonl"))
    cases = []
    for number, query in queries:
        if not isinstance(query.get("_id"), str) or not isinstance(query.get("text"), str):
            raise InputError(f"{folder / 'queries.jsonl'}, line {number}: needs a string '_id' and 'text'")
        if query["_id"] in qrels:
            cases.append(Case(id=query["_id"], question=query["text"], qrels=qrels[query["_id"]]))
    if max_queries:
        cases = cases[:max_queries]
    keep = {doc for case in cases for doc in case.qrels}
    corpus = _write_corpus(folder, cache, keep, max_docs)
    return Dataset(folder.name, cases, corpus, graded=True)


def doc_file(doc_id: str) -> str:
    """The file a BEIR document is written to: its id percent-encoded, so that no id is a path
    ("../../x", "/etc/x") or a hidden file; `doc_id_of` reads it back."""
    name = quote(doc_id, safe="")
    return ("%2E" + name[1:] if name.startswith(".") else name) + ".txt"


def doc_id_of(file_name: str) -> str:
    return unquote(file_name.removesuffix(".txt"))


def _rows(handle, path: Path, tsv: bool = False):
    """(line number, row) of a JSONL (or TSV) file; a bad line or a non-UTF-8 file is one clear error."""
    try:
        if tsv:
            yield from enumerate(csv.DictReader(handle, delimiter="\t"), start=2)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}, line {number}: expected a JSON object")
            yield number, row
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None


def _content_key(path: Path) -> str:
    """A digest of a file's bytes: a cached corpus is reused only while its source is unchanged."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _write_corpus(folder: Path, cache: Path, keep: set[str], max_docs: int | None) -> Path:
    """One `<doc id>.txt` per document (title, blank line, text), written once per slice of the
    corpus file's content (an edited `corpus.jsonl` is written again)."""
    source = _path(folder, "corpus.jsonl")
    key = hashlib.sha256(f"{_content_key(source)}|{max_docs}|{sorted(keep) if max_docs else ''}".encode()).hexdigest()
    target = cache / "corpora" / f"{folder.name}-{key[:12]}"
    done = target / ".complete"
    if done.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    with _open(folder, "corpus.jsonl") as handle:
        for number, doc in _rows(handle, source):
            doc_id = doc.get("_id")
            if not isinstance(doc_id, str) or not doc_id or len(doc_id) > 200:
                raise InputError(f"{source}, line {number}: '_id' must be a string of 1 to 200 characters")
            if max_docs is not None and doc_id not in keep and written >= max_docs:
                continue
            text = f"{doc.get('title') or ''}\n\n{doc.get('text') or ''}\n".strip() + "\n"
            (target / doc_file(doc_id)).write_text(text, encoding="utf-8")
            written += doc_id not in keep
    done.write_text("ok")
    return target


def load_dataset(paths: str | Path | list[str | Path], corpus: str | Path | None, cache: Path,
                 max_queries: int | None = None, max_docs: int | None = None,
                 downloads: Path | None = None, beir_url: str | None = None, progress: bool = False) -> Dataset:
    """One BEIR folder or BEIR name (downloaded into `downloads` from `beir_url` when not there yet), or
    one or more JSONL files about the same corpus (each file a split unless its rows name one)."""
    from eval import beir

    paths = [Path(p) for p in (paths if isinstance(paths, list) else [paths])]
    if not paths:
        raise InputError("no dataset given")
    first = paths[0]
    if len(paths) == 1 and first.is_dir():
        return load_beir(first, cache, max_queries, max_docs)
    if len(paths) == 1 and not first.exists() and beir.is_known(str(first)) and downloads is not None:
        folder = beir.dataset_folder(str(first), downloads, beir_url or "", progress)
        return load_beir(folder, cache, max_queries, max_docs)
    cases: list[Case] = []
    for path in paths:
        if path.is_dir():
            raise InputError(f"{path} is a folder: a BEIR folder is evaluated on its own, not beside JSONL files")
        if not path.exists():
            hint = f" (BEIR names: {', '.join(sorted(beir.CHECKSUMS))})" if len(paths) == 1 else ""
            raise InputError(f"dataset not found: {path}{hint}")
        cases.extend(load_jsonl(path)[:max_queries] if max_queries else load_jsonl(path))
    repeated = sorted({c.id for c in cases if sum(d.id == c.id for d in cases) > 1})
    if repeated:
        raise InputError(f"case ids repeat across the datasets: {', '.join(repeated[:5])}")
    corpus_dir = Path(corpus) if corpus else Path("seeds")
    if corpus is None and not corpus_dir.exists():  # run from elsewhere: the project's own seeds
        corpus_dir = Path(__file__).resolve().parents[1] / "seeds"
    if not corpus_dir.exists():
        raise InputError(f"corpus folder not found: {corpus_dir} (pass --corpus PATH)")
    return Dataset(_common_name([p.stem for p in paths]), cases, corpus_dir, graded=False)


def _common_name(stems: list[str]) -> str:
    """"seeds" for seeds_dev + seeds_test; the stem itself for one file."""
    if len(stems) == 1:
        return stems[0]
    prefix = stems[0]
    while prefix and not all(s.startswith(prefix) for s in stems):
        prefix = prefix[:-1]
    return prefix.rstrip("_-. ") or "+".join(stems)
