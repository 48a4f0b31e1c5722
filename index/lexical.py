"""BM25 over chunk texts (bm25s, English stemming and stopwords), saved beside the vectors.

bm25s has no incremental update, so the index is rebuilt from the manifest after any change
(about a second for ten thousand chunks) and written to a fresh folder before the old one is
dropped: a crash leaves either the old index or the new one, never half of each.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index import datadir
from index.errors import REPAIR, IndexDamagedError


def fingerprint(chunk_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(chunk_ids)).encode()).hexdigest()[:16]


TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's own token pattern


@functools.lru_cache(maxsize=1)
def stemmer_and_stopwords():
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    return Stemmer.Stemmer("english"), frozenset(STOPWORDS_EN)


def terms(text: str) -> list[str]:
    """The stemmed, stopword-free terms BM25 sees in `text`, in order (repeats kept)."""
    stemmer, stopwords = stemmer_and_stopwords()
    words = [w for w in TOKEN.findall(text.lower()) if w not in stopwords]
    return stemmer.stemWords(words)


def _tokenize(texts: list[str]):
    import bm25s
    import Stemmer

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False)


def build(data_dir: Path, chunk_ids: list[str], texts: list[str], doc_ids: list[str]) -> str:
    """Build and save the index for these chunks (of these documents, for the source filter);
    return the folder name it lives in."""
    import bm25s

    name = f"{datadir.BM25_PREFIX}{fingerprint(chunk_ids)}"
    target = data_dir / name
    if (target / "docs.json").exists() and ((target / "idf.json").exists() or not chunk_ids):
        return name
    tmp = data_dir / f"{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if texts:
        retriever = bm25s.BM25()
        tokenized = _tokenize(texts)
        retriever.index(tokenized, show_progress=False)
        retriever.save(str(tmp))
        (tmp / "idf.json").write_text(json.dumps(_idf(tokenized)))
    (tmp / "ids.json").write_text(json.dumps(chunk_ids))
    (tmp / "docs.json").write_text(json.dumps(doc_ids))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return name


def _idf(tokenized) -> dict[str, float]:
    """BM25's idf per term, kept so single sentences can be scored against corpus statistics."""
    inverse = {i: w for w, i in tokenized.vocab.items()}
    df = Counter(i for ids in tokenized.ids for i in set(ids))
    n = len(tokenized.ids)
    return {inverse[i]: round(math.log(1 + (n - f + 0.5) / (f + 0.5)), 4) for i, f in df.items()}


def drop_others(data_dir: Path, keep: str) -> None:
    for old in data_dir.glob(f"{datadir.BM25_PREFIX}*"):
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def check(folder: Path, expected: set[str]) -> str | None:
    """What is wrong with the index in `folder` for the manifest's chunk ids `expected`; None when
    it loads and lists exactly them (bm25s would otherwise just find nothing, silently)."""
    if not folder.is_dir():
        return f"the lexical (BM25) index {folder} is missing"
    try:
        index = load(folder)
    except IndexDamagedError as exc:
        return exc.what
    if set(index.ids) != expected:
        return (f"the lexical (BM25) index {folder} lists {len(set(index.ids)):,} chunks but the manifest "
                f"{len(expected):,}")
    return None


def load(folder: Path, docs_of: Callable[[list[str]], list[str]] | None = None) -> LexicalIndex:
    """The index in `folder`, or IndexDamagedError saying why it cannot be read (a plain
    `rag index` rebuilds it from the manifest). `docs_of`: the documents of chunks, asked for an
    index made before it kept them itself."""
    if not (folder / "ids.json").is_file():
        raise IndexDamagedError(f"the lexical (BM25) index {folder} is missing", REPAIR)
    try:
        return LexicalIndex(folder, docs_of)
    except Exception as exc:  # bm25s and json fail in many ways on a damaged folder; all mean the same
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise IndexDamagedError(f"the lexical (BM25) index {folder} cannot be read ({text})", REPAIR) from None


class LexicalIndex:
    """A loaded BM25 index: `search(query, k, sources)` gives (chunk_id, score) best first."""

    def __init__(self, folder: Path, docs_of: Callable[[list[str]], list[str]] | None = None) -> None:
        self.ids: list[str] = json.loads((folder / "ids.json").read_text())
        docs_file = folder / "docs.json"
        docs = json.loads(docs_file.read_text()) if docs_file.exists() else docs_of(self.ids) if docs_of else []
        self._doc_code = {name: code for code, name in enumerate(dict.fromkeys(docs))}
        self._docs = np.array([self._doc_code[d] for d in docs], dtype=np.int64) if docs else None
        idf_file = folder / "idf.json"
        self.idf: dict[str, float] = json.loads(idf_file.read_text()) if idf_file.exists() else {}
        # a term the corpus never uses gets the idf of a term seen in no chunk
        self.unseen_idf = math.log(1 + (len(self.ids) + 0.5) / 0.5) if self.ids else 0.0
        self._retriever = None
        if self.ids:
            import bm25s

            self._retriever = bm25s.BM25.load(str(folder))

    def search(self, query: str, k: int, sources: list[str] | None = None) -> list[tuple[str, float]]:
        """The `k` best chunks for `query`, of the documents `sources` only when given."""
        if self._retriever is None or k <= 0:
            return []
        tokens = _tokenize([query])
        if not tokens.vocab or not any(tokens.ids):
            return []
        mask = None
        if sources:
            if self._docs is None:
                raise IndexDamagedError("the lexical (BM25) index does not say which document each chunk is from",
                                        REPAIR)
            codes = [self._doc_code[s] for s in sources if s in self._doc_code]
            mask = np.isin(self._docs, codes).astype(np.float32)
            if not mask.any():
                return []
        docs, scores = self._retriever.retrieve([_words(tokens)], k=min(k, len(self.ids)), show_progress=False,
                                                weight_mask=mask)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]


def _words(tokenized) -> list[str]:
    inverse = {i: w for w, i in tokenized.vocab.items()}
    return [inverse[i] for i in tokenized.ids[0]]
