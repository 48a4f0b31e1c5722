"""Run a dataset against one or several configurations and compute the metrics.

Each configuration gets its own index under the cache folder, keyed by what changes an index
(model, chunking, file types, corpus), so configurations that differ only in retrieval share
one index, and a second run re-embeds nothing (embeddings are also cached by content hash).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from eval import metrics
from eval.dataset import Case, Dataset, doc_id_of
from rag.errors import ConfigError, InputError
from rag.config import RagConfig

INDEX_FIELDS = ("embed_model", "chunk_tokens", "chunk_overlap", "extensions", "max_file_mb")
EVIDENCE_KS = (1, 3, 5, 10)


@dataclass(frozen=True)
class Variant:
    """A named configuration to evaluate."""

    name: str
    config: RagConfig
    changes: dict = field(default_factory=dict)  # the settings given for it, as typed


@dataclass
class VariantResult:
    name: str
    settings: dict
    metrics: dict  # over every case
    per_case: list[dict]
    splits: dict[str, dict] = field(default_factory=dict)  # split name -> metrics over its cases
    kinds: dict[str, dict] = field(default_factory=dict)  # split name -> kind -> figures


def parse_variant(spec: str, base: RagConfig) -> Variant:
    """`name:key=value,key=value` (or just `name`) into a Variant over `base`."""
    name, _, body = spec.partition(":")
    changes: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in body.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise ConfigError(f"--config {spec!r}: expected key=value, got {part!r}")
        changes[key.strip()] = value.strip()
    env = {f"RAG_{k.upper()}": v for k, v in changes.items()}
    known = {f.name for f in dataclasses.fields(RagConfig)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ConfigError(f"--config {spec!r}: unknown setting(s) {', '.join(unknown)}; see `rag config`")
    parsed = RagConfig.from_env(env)
    typed = {k: getattr(parsed, k) for k in changes}
    return Variant(name.strip() or "default", dataclasses.replace(base, **typed), typed)


def index_dir(cache: Path, config: RagConfig, corpus: Path) -> Path:
    key = "|".join(str(getattr(config, f)) for f in INDEX_FIELDS) + f"|{corpus.resolve()}"
    return cache / "indexes" / hashlib.sha256(key.encode()).hexdigest()[:16]


def run_variant(variant: Variant, dataset: Dataset, cache: Path, progress: bool = False) -> VariantResult:
    from rag.assistant import Assistant

    config = dataclasses.replace(
        variant.config, data_dir=index_dir(cache, variant.config, dataset.corpus),
        embed_cache=cache / "embeddings.sqlite",
    )
    assistant = Assistant(config, progress=progress)
    report = assistant.index([dataset.corpus])
    if report.failed:
        failures = "; ".join(f"{f.path}: {f.reason}" for f in report.failed[:3])
        raise InputError(f"indexing the corpus failed: {failures}")
    depth = 100 if dataset.graded else 10
    cases = dataset.cases
    if progress:
        from tqdm import tqdm

        cases = tqdm(cases, desc=variant.name, unit="q", leave=False)
    per_case = []
    for case in cases:
        started = time.perf_counter()
        hits = assistant.search(case.question, k=depth * (3 if dataset.graded else 1))
        elapsed_ms = (time.perf_counter() - started) * 1000
        row = _score_case(case, hits, elapsed_ms, dataset.graded, depth)
        if not dataset.graded:
            started = time.perf_counter()
            answer = assistant.ask(case.question)
            row.update(_score_answer(case, answer, (time.perf_counter() - started) * 1000, dataset.corpus))
        per_case.append(row)
    assistant.close()
    splits = list(dict.fromkeys(c.split for c in dataset.cases))
    by_split = {name: [r for r in per_case if r["split"] == name] for name in splits}
    return VariantResult(
        variant.name, _settings(variant.config), _aggregate(per_case, dataset.graded), per_case,
        splits={name: _aggregate(rows, dataset.graded) for name, rows in by_split.items()},
        kinds={} if dataset.graded else {name: _by_kind(rows) for name, rows in by_split.items()},
    )


def _score_case(case: Case, hits, elapsed_ms: float, graded: bool, depth: int) -> dict:
    row = {"id": case.id, "kind": case.kind, "split": case.split, "retrieve_ms": round(elapsed_ms, 2)}
    if graded:
        ranked_docs = list(dict.fromkeys(doc_id_of(h.source) for h in hits))[:depth]
        row["ndcg@10"] = metrics.ndcg_at_k(ranked_docs, case.qrels, 10)
        row["recall@100"] = metrics.recall_ids_at_k(ranked_docs, case.qrels, 100)
        row["top_docs"] = ranked_docs[:10]
        return row
    if not case.evidence:
        row["answerable"] = False
        row["top_sources"] = [h.source for h in hits[:3]]
        return row
    # Page-exact gold: a passage counts only where it lies on one of the evidence's pages.
    passages = [h.text if _on_pages(h.pages, case.pages) else "" for h in hits]
    row["answerable"] = True
    row["rank"] = metrics.evidence_rank(passages, case.evidence)
    for k in EVIDENCE_KS:
        row[f"hit@{k}"] = metrics.hit_at_k(passages, case.evidence, k)
    row["mrr@10"] = metrics.reciprocal_rank(passages, case.evidence, 10)
    row["recall@5"] = metrics.recall_at_k(passages, case.evidence, 5)
    row["doc_hit@1"] = metrics.doc_hit_at_k([h.source for h in hits], case.sources, 1)
    row["doc_hit@5"] = metrics.doc_hit_at_k([h.source for h in hits], case.sources, 5)
    return row


def _on_pages(pages, gold: tuple[int, ...]) -> bool:
    """Whether a passage or quote on `pages` (PageRef) lies on a gold page; any, without gold pages."""
    return not gold or any(p.number in gold for p in pages)


def _score_answer(case: Case, answer, elapsed_ms: float, corpus: Path) -> dict:
    """Answer-level figures: evidence delivered (and first), echo sentences, fragments (quotes that
    start or stop inside a sentence), sentences the citation check flagged (an LLM's), citations
    that hold, quotes exact, abstention. With page-exact gold only quotes on a gold page count."""
    row: dict = {"ask_ms": round(elapsed_ms, 2), "abstained": answer.abstained, "answer": answer.text}
    texts: dict[str, str] = {}
    exact = []
    for c in answer.citations:
        if c.source not in texts:
            texts[c.source] = _file_text(corpus / c.source)
        exact.append(texts[c.source][c.start_char:c.end_char] == c.quote)
    row["quotes_exact"] = all(exact) if exact else None  # an answer without quotes is not counted
    by_marker = {c.marker: c for c in answer.citations}
    pairs = [(s.text, by_marker[m].passage) for s in answer.sentences for m in s.markers if m in by_marker]
    row["citation_precision"] = metrics.citation_precision(pairs)
    sentences = [] if answer.abstained else list(answer.sentences)
    row["answer_sentences"] = len(sentences)
    row["unsupported_sentences"] = sum(not s.supported for s in sentences)  # flagged by the citation check
    row["echoes"] = [{"kind": kind, "text": text} for kind, text in _echoes(answer, sentences, texts)]
    row["fragments"] = [] if answer.abstained else [
        {"kind": kind, "text": c.quote} for c in answer.citations
        if (kind := metrics.fragment_kind(texts[c.source], c.start_char, c.end_char))]
    if case.evidence:
        groups = _evidence_by_source(case, corpus)
        delivered = not answer.abstained
        cited = [c for c in answer.citations if _on_pages(c.pages, case.pages)]
        own_words = [] if case.pages else [answer.text]  # page-exact: only what a quote shows on its page
        row["answer_evidence"] = metrics.evidence_coverage(
            [*own_words, *(c.quote for c in cited)], groups) if delivered else 0.0
        row["passage_evidence"] = metrics.evidence_coverage(
            [*own_words, *(c.passage for c in cited)], groups) if delivered else 0.0
        first = sentences[0] if sentences else None
        row["first_sentence_evidence"] = 0.0 if first is None else metrics.first_sentence_evidence(
            "" if case.pages else first.text,
            [by_marker[m].quote for m in first.markers if m in by_marker and by_marker[m] in cited], case.evidence)
    return row


NEEDS_EACH_SOURCE = ("multi", "comparison")  # kinds whose sources are each needed, not alternatives


def _evidence_by_source(case: Case, corpus: Path) -> list[list[str]]:
    """The case's evidence strings grouped by the source file that holds them: one group per
    source for a question that needs several documents (`NEEDS_EACH_SOURCE`), else one group (the
    sources are alternative places that say the same thing)."""
    if case.kind not in NEEDS_EACH_SOURCE:
        return [list(case.evidence)]
    groups = []
    for source in case.sources:
        path = corpus / source
        text = _file_text(path) if path.exists() else ""
        groups.append([e for e in case.evidence if metrics.contains_evidence(text, e)])
    return [g for g in groups if g] or [list(case.evidence)]


def _echoes(answer, sentences, texts: dict[str, str]) -> list[tuple[str, str]]:
    """(kind, text) of each answer sentence that is a question, heading or credit line. An
    extractive sentence is judged by its quote and the line of the file it sits on; a generated
    one by its own words."""
    by_marker = {c.marker: c for c in answer.citations}
    found = []
    for sentence in sentences:
        cited = [by_marker[m] for m in sentence.markers if m in by_marker]
        if answer.generator == "extractive" and cited:
            c = cited[0]
            text = texts.get(c.source, "")
            line = text[text.rfind("\n", 0, c.start_char) + 1:(text.find("\n", c.end_char) + 1 or len(text) + 1) - 1]
            kind = metrics.echo_kind(c.quote, line)
        else:
            kind = metrics.echo_kind(sentence.text)
        if kind:
            found.append((kind, sentence.text))
    return found


def _file_text(path: Path) -> str:
    """The file's text as the indexer decodes it (any encoding, HTML as text), read afresh from
    disk: what citation spans point into, checked without trusting the index's copy. Decoded once
    per version of the file (every case reads the same few files)."""
    stat = path.stat()
    return _decoded(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _decoded(path: Path, mtime_ns: int, size: int) -> str:
    from rag import reading

    return reading.read(path.name, path.read_bytes()).text


def _aggregate(rows: list[dict], graded: bool) -> dict:
    keys = ["ndcg@10", "recall@100"] if graded else [
        *(f"hit@{k}" for k in EVIDENCE_KS), "mrr@10", "recall@5", "doc_hit@1", "doc_hit@5"]
    scored = [r for r in rows if graded or r.get("answerable")]
    result = {key: _round(metrics.mean([r[key] for r in scored])) for key in keys}
    result["cases"] = len(scored)
    latency = metrics.latency_summary([r["retrieve_ms"] for r in rows])
    result["retrieve_p50_ms"] = _round(latency["p50"], 1)
    result["retrieve_p95_ms"] = _round(latency["p95"], 1)
    if not graded and rows and "ask_ms" in rows[0]:
        result.update(_aggregate_answers(rows))
    return result


def _aggregate_answers(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r.get("answerable")]
    unanswerable = [r for r in rows if not r.get("answerable")]
    sentences = sum(r["answer_sentences"] for r in rows)
    echoes = sum(len(r["echoes"]) for r in rows)
    fragments = sum(len(r.get("fragments", ())) for r in rows)
    result = {
        "answer_evidence": _round(metrics.mean([r["answer_evidence"] for r in answerable])),
        "first_sentence_evidence": _round(metrics.mean([r["first_sentence_evidence"] for r in answerable])),
        "passage_evidence": _round(metrics.mean([r["passage_evidence"] for r in answerable])),
        "echo_rate": _round(echoes / sentences if sentences else None),
        "echo_sentences": echoes,
        "fragments": fragments,
        "fragment_rate": _round(fragments / sentences if sentences else None),
        "answer_sentences": sentences,
        "unsupported_rate": _round(sum(r.get("unsupported_sentences", 0) for r in rows) / sentences if sentences else None),
        "citation_precision": _round(metrics.mean([r["citation_precision"] for r in rows])),
        "quotes_exact": _round(metrics.mean([float(r["quotes_exact"]) for r in rows if r["quotes_exact"] is not None])),
        "unanswerable_abstained": _round(metrics.mean([float(r["abstained"]) for r in unanswerable])),
        "unanswerable": len(unanswerable),
    }
    scores = metrics.abstention_scores([(not r.get("answerable"), r["abstained"]) for r in rows])
    result["false_abstention_rate"] = _round(scores["false_abstention_rate"])
    result["false_abstentions"] = sum(r["abstained"] for r in answerable)
    latency = metrics.latency_summary([r["ask_ms"] for r in rows])
    result["ask_p50_ms"] = _round(latency["p50"], 1)
    result["ask_p95_ms"] = _round(latency["p95"], 1)
    return result


KIND_KEYS = ("hit@1", "hit@5", "answer_evidence", "first_sentence_evidence", "abstained")


def _by_kind(rows: list[dict]) -> dict[str, dict]:
    """Per kind of question (fact, paraphrase, why, ...): count and the main figures; for the
    unanswerable kind, the share abstained."""
    kinds: dict[str, list[dict]] = {}
    for row in rows:
        kinds.setdefault(row.get("kind") or "unlabelled", []).append(row)
    table = {}
    for kind, members in sorted(kinds.items()):
        entry: dict = {"n": len(members)}
        for key in KIND_KEYS:
            values = [float(r[key]) for r in members if key in r and (r.get("answerable") or key == "abstained")]
            entry[key] = _round(metrics.mean(values)) if values else None
        table[kind] = entry
    return table


def _round(value, digits: int = 4):
    return None if value is None else round(value, digits)


def _settings(config: RagConfig) -> dict:
    return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(config).items() if k not in ("data_dir", "embed_cache")}


QUALITY_KEYS = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "recall@5", "doc_hit@1", "doc_hit@5",
                "ndcg@10", "recall@100", "answer_evidence", "first_sentence_evidence", "passage_evidence",
                "echo_rate", "fragment_rate", "unsupported_rate", "citation_precision", "quotes_exact",
                "unanswerable_abstained", "false_abstention_rate")
LOWER_IS_BETTER = ("echo_rate", "fragment_rate", "unsupported_rate", "false_abstention_rate")
LATENCY_KEYS = ("retrieve_p50_ms", "retrieve_p95_ms", "ask_p50_ms", "ask_p95_ms")


def evaluate(dataset: Dataset, variants: list[Variant], cache: Path, progress: bool = False) -> dict:
    """Everything `results.json` holds."""
    results = [run_variant(v, dataset, cache, progress) for v in variants]
    return {
        "dataset": dataset.name,
        "corpus": str(dataset.corpus),
        "cases": len(dataset.cases),
        "graded": dataset.graded,
        "splits": list(dict.fromkeys(c.split for c in dataset.cases)),
        "configs": [dataclasses.asdict(r) for r in results],
    }
