"""Sentence segmentation benchmark: the project's regex splitter against off-the-shelf segmenters.

What it measures, on a gold set of short passages in four genres (news, legal, manual, wrapped;
each row lists its gold sentences): eval/data/sentences_dev.jsonl (404 sentences; the regex
splitter's rules were revised on its mistakes) or eval/data/sentences_test.jsonl (447 sentences,
written blind afterwards and never tuned on: `--split test`, the default):

- sentence precision / recall / F1: a predicted sentence counts as right only if, whitespace-
  normalised (" ".join(s.split())), it equals a gold sentence of the same row (multiset matching,
  so a sentence that occurs twice must be predicted twice);
- rows: how many rows the segmenter got entirely right (predictions == gold, as multisets);
- speed: every row's input is segmented 20 times; reported as gold sentences per second.

Segmenters: `regex` (index.sentences.split_sentences, the project's splitter) and, when importable,
`pysbd`, `syntok`, `blingfire` and `sentencex` (install them with
`.venv/bin/pip install pysbd syntok blingfire sentencex`; a missing one is skipped with a note).

What a segmenter sees is prepare(row): for the `wrapped` genre the text goes through the project's
reader and cleaner first (index.readers.registry.read, then index.clean.clean with the reading's
blocks), as the indexer would; if that API is not there yet, the raw text is measured and a note
says so. Other genres are given as they are.

Run:
    .venv/bin/python bench/sentence_bench.py                 # all genres, all segmenters
    .venv/bin/python bench/sentence_bench.py --genre legal   # one genre
    .venv/bin/python bench/sentence_bench.py --show 10       # up to 10 mismatching rows per segmenter
    .venv/bin/python bench/sentence_bench.py --json          # figures as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SPLITS = {"dev": ROOT / "eval" / "data" / "sentences_dev.jsonl", "test": ROOT / "eval" / "data" / "sentences_test.jsonl"}
GOLD = SPLITS["dev"]
GENRES = ("news", "legal", "manual", "wrapped")
REPEATS = 20

Segmenter = Callable[[str], list[str]]
_notes: list[str] = []


def norm(s: str) -> str:
    return " ".join(s.split())


def load_gold(path: Path = GOLD) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --- what the splitter sees ------------------------------------------------------------------

_wrapped_raw = False


def prepare(row: dict) -> str:
    """The text a segmenter is given for this row: wrapped text read and cleaned like the indexer
    does it, every other genre as it is."""
    global _wrapped_raw
    if row["genre"] != "wrapped" or _wrapped_raw:
        return row["text"]
    try:
        from index.clean import clean
        from index.readers.registry import read

        reading = read("x.txt", row["text"].encode())
        return clean(reading.text, blocks=reading.blocks).text
    except (TypeError, AttributeError, ImportError) as exc:
        _wrapped_raw = True
        _notes.append(f"note: wrapped text is measured raw (reader/clean with blocks not available: {exc})")
        return row["text"]


# --- segmenters ------------------------------------------------------------------------------

def _spans_to_text(text: str, spans) -> list[str]:
    return [text[a:b] for a, b in spans]


def make_regex() -> Segmenter:
    from index.sentences import split_sentences

    return lambda text: _spans_to_text(text, split_sentences(text))


def make_pysbd() -> Segmenter:
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return lambda text: [text[s.start:s.end] for s in seg.segment(text)]


def make_syntok() -> Segmenter:
    from syntok.segmenter import analyze

    def run(text: str) -> list[str]:
        out = []
        for paragraph in analyze(text):
            for sentence in paragraph:
                if sentence:
                    first, last = sentence[0], sentence[-1]
                    out.append(text[first.offset:last.offset + len(last.value)])
        return out

    return run


def make_blingfire() -> Segmenter:
    import blingfire

    def run(text: str) -> list[str]:
        _, offsets = blingfire.text_to_sentences_and_offsets(text)
        return _spans_to_text(text, offsets)

    return run


def make_sentencex() -> Segmenter:
    import sentencex

    return lambda text: list(sentencex.segment("en", text))


FACTORIES: dict[str, Callable[[], Segmenter]] = {
    "regex": make_regex,
    "pysbd": make_pysbd,
    "syntok": make_syntok,
    "blingfire": make_blingfire,
    "sentencex": make_sentencex,
}


def available() -> dict[str, Segmenter]:
    segs = {}
    for name, factory in FACTORIES.items():
        try:
            segs[name] = factory()
        except Exception as exc:  # ImportError, or a library that fails to load its model
            _notes.append(f"skipped {name}: {type(exc).__name__}: {exc}")
    return segs


# --- scoring ---------------------------------------------------------------------------------

def score_row(gold: list[str], pred: list[str]) -> tuple[int, int, int]:
    """(right, predicted, gold) counts for one row, multiset matching on normalised sentences."""
    g = Counter(norm(s) for s in gold)
    p = Counter(n for n in (norm(s) for s in pred) if n)
    return sum((g & p).values()), sum(p.values()), sum(g.values())


def prf(tp: int, n_pred: int, n_gold: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def evaluate(seg: Segmenter, rows: list[dict], inputs: list[str]) -> tuple[dict, list[tuple]]:
    per: dict[str, list[int]] = {}
    mismatches = []
    for row, text in zip(rows, inputs):
        pred = seg(text)
        tp, n_pred, n_gold = score_row(row["sentences"], pred)
        exact = tp == n_pred == n_gold
        for key in (row["genre"], "overall"):
            acc = per.setdefault(key, [0, 0, 0, 0, 0])
            acc[0] += tp; acc[1] += n_pred; acc[2] += n_gold; acc[3] += exact; acc[4] += 1
        if not exact:
            mismatches.append((row, pred))
    start = time.perf_counter()
    for _ in range(REPEATS):
        for text in inputs:
            seg(text)
    elapsed = time.perf_counter() - start
    n_gold_all = per["overall"][2]
    figures = {}
    for key in [g for g in GENRES if g in per] + ["overall"]:
        tp, n_pred, n_gold, exact, n_rows = per[key]
        figures[key] = {**prf(tp, n_pred, n_gold), "right": tp, "predicted": n_pred, "gold": n_gold,
                        "rows_right": exact, "rows": n_rows}
    figures["overall"]["sentences_per_s"] = REPEATS * n_gold_all / elapsed if elapsed else float("inf")
    return figures, mismatches


def show_mismatches(name: str, mismatches: list[tuple], limit: int) -> None:
    print(f"\n--- {name}: {len(mismatches)} rows not entirely right; showing {min(limit, len(mismatches))}")
    for row, pred in mismatches[:limit]:
        g = Counter(norm(s) for s in row["sentences"])
        p = Counter(n for n in (norm(s) for s in pred) if n)
        print(f"[{row['id']}]")
        for s in (g - p).elements():
            print(f"  gold only: {s}")
        for s in (p - g).elements():
            print(f"  predicted: {s}")


def print_table(name: str, figures: dict) -> None:
    print(f"\n{name}  ({figures['overall']['sentences_per_s']:,.0f} gold sentences/s)")
    print(f"  {'genre':<9} {'P':>6} {'R':>6} {'F1':>6}  {'rows right':>11}")
    for key, f in figures.items():
        print(f"  {key:<9} {f['precision']:6.3f} {f['recall']:6.3f} {f['f1']:6.3f}  "
              f"{f['rows_right']:>4}/{f['rows']:<4}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--genre", choices=GENRES, help="only this genre")
    ap.add_argument("--show", type=int, default=0, metavar="N", help="print up to N mismatching rows per segmenter")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--split", choices=tuple(SPLITS), default="test",
                    help="dev: the set the regex splitter was revised on; test: written blind, never tuned on (default)")
    args = ap.parse_args(argv)

    rows = [r for r in load_gold(SPLITS[args.split]) if not args.genre or r["genre"] == args.genre]
    if not rows:
        print("no gold rows", file=sys.stderr)
        return 1
    inputs = [prepare(r) for r in rows]
    segs = available()
    results = {}
    all_mismatches = {}
    for name, seg in segs.items():
        results[name], all_mismatches[name] = evaluate(seg, rows, inputs)

    if args.json:
        print(json.dumps({"gold": str(args.gold), "rows": len(rows), "notes": _notes, "results": results}, indent=2))
    else:
        if not args.show:
            print(__doc__.strip().split("\n\n")[0])
        for note in _notes:
            print(note)
        print(f"gold: {len(rows)} rows, {sum(len(r['sentences']) for r in rows)} sentences; speed over {REPEATS} passes")
        for name, figures in results.items():
            print_table(name, figures)
    if args.show:
        for name, mismatches in all_mismatches.items():
            show_mismatches(name, mismatches, args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
