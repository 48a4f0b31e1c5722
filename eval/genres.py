"""The question sets by genre, each with the corpus it is about: `rag eval --genre NAME`.

- `seeds`: five news and blog articles, one paragraph a line (the project's own `seeds/`);
- `seeds-wrapped`: the same articles hard-wrapped at 72 columns, as mail and exported notes are,
  asked the same questions: the answers must not change with the wrapping;
- `courts`: US Supreme Court opinions, a motion, a scanned order, a form and a datasheet (PDFs),
  with page-exact gold; read from `RAG_EVAL_COURTS` (default: `../shared/data/pdfs` beside the
  checkout), which the project does not ship;
- `postgres`: 289 pages of the PostgreSQL 15 manual (the SQL commands and the chapters on DDL,
  indexes, MVCC, maintenance, WAL, data types, queries, backup and the tutorial), from Debian's
  `postgresql-doc-15` (`RAG_EVAL_POSTGRES`, default `/usr/share/doc/postgresql-doc-15/html`).

Each genre has a dev split (tune on it) and a test split (report only; its hash is pinned by
tests/test_question_set.py). A genre whose documents are not on this machine is skipped with
the reason (`GenreMissing`).
"""

from __future__ import annotations

import os
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

from rag.errors import InputError

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[1]
WRAP_WIDTH = 72
POSTGRES_PAGES = ("sql", "ddl", "indexes", "mvcc", "routine", "maintenance", "wal", "tutorial", "datatype",
                  "queries", "backup")


class GenreMissing(InputError):
    """The genre's documents are not on this machine (a package not installed, a folder absent)."""


@dataclass(frozen=True)
class Genre:
    name: str
    about: str
    sets: tuple[Path, ...]  # dev, test

    def corpus(self, cache: Path) -> Path:
        """The folder of documents the questions are about (made under `cache` where it is derived)."""
        return _CORPORA[self.name](cache)


def _sets(stem: str) -> tuple[Path, ...]:
    return DATA / f"{stem}_dev.jsonl", DATA / f"{stem}_test.jsonl"


GENRES = {g.name: g for g in (
    Genre("seeds", "news and blog articles, one paragraph a line", _sets("seeds")),
    Genre("seeds-wrapped", f"the same articles hard-wrapped at {WRAP_WIDTH} columns", _sets("seeds")),
    Genre("courts", "court opinions, a motion, a scanned order, a form and a datasheet (PDF, page-exact)",
          _sets("courts")),
    Genre("postgres", "289 pages of the PostgreSQL 15 manual (HTML)", _sets("postgres")),
)}


def genre(name: str) -> Genre:
    if name not in GENRES:
        raise InputError(f"unknown genre {name!r} (genres: {', '.join(GENRES)}, or all)")
    return GENRES[name]


def _seeds(cache: Path) -> Path:
    return ROOT / "seeds"


def wrap(text: str, width: int = WRAP_WIDTH) -> str:
    """`text` hard-wrapped: each line (a paragraph) filled to `width` columns, blank lines kept."""
    return "\n".join(textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) if line.strip()
                     else line for line in text.split("\n"))


def _seeds_wrapped(cache: Path) -> Path:
    target = cache / "corpora" / f"seeds-wrapped-{WRAP_WIDTH}"
    target.mkdir(parents=True, exist_ok=True)
    for source in sorted((ROOT / "seeds").iterdir()):
        wrapped = wrap(source.read_text(encoding="utf-8"))
        path = target / source.name
        if not path.exists() or path.read_text(encoding="utf-8") != wrapped:
            path.write_text(wrapped, encoding="utf-8")
    return target


def _courts(cache: Path) -> Path:
    folder = Path(os.environ.get("RAG_EVAL_COURTS") or ROOT.parent / "shared" / "data" / "pdfs")
    pdfs = sorted(folder.glob("*.pdf"))
    if not pdfs:
        raise GenreMissing(f"the court PDFs are not here ({folder}; set RAG_EVAL_COURTS to their folder)")
    return _copied(pdfs, cache / "corpora" / "courts")


def _copied(files: list[Path], target: Path) -> Path:
    """`files` copied into `target` (only those: a folder's README is not a document of the set);
    copies, not links, as the indexer refuses links out of the folder it reads."""
    target.mkdir(parents=True, exist_ok=True)
    for source in files:
        copy = target / source.name
        if not copy.exists() or copy.stat().st_size != source.stat().st_size:
            shutil.copyfile(source, copy)
    return target


def _postgres(cache: Path) -> Path:
    html = Path(os.environ.get("RAG_EVAL_POSTGRES") or "/usr/share/doc/postgresql-doc-15/html")
    pages = sorted(p for p in html.glob("*.html") if p.name.startswith(POSTGRES_PAGES)) if html.is_dir() else []
    if not pages:
        raise GenreMissing(f"the PostgreSQL 15 manual is not installed ({html}: `apt-get install postgresql-doc-15`)")
    return _copied(pages, cache / "corpora" / "postgres-15")


_CORPORA = {"seeds": _seeds, "seeds-wrapped": _seeds_wrapped, "courts": _courts, "postgres": _postgres}
