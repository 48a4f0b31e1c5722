"""Split a question set once into `dev` (tune on it) and `test` (report only), by a seeded shuffle.

Stratified by kind, so both halves hold every kind of question: within each kind the cases are
sorted by id, shuffled with a generator seeded by (seed, kind), and the first `test_share` of them
go to test. The same cases and seed always give the same split (tests/test_question_set.py
re-derives it), so a hand-picked test split would show.

    python -m eval.split NEW.jsonl --seed 13 --dev eval/data/seeds_dev.jsonl --test eval/data/seeds_test.jsonl

appends the dev half to the dev file and writes the test half, each row marked with its split.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path


def split(ids_by_kind: dict[str, Sequence[str]], seed: int, test_share: float = 0.5) -> set[str]:
    """The ids that go to test."""
    test: set[str] = set()
    for kind in sorted(ids_by_kind):
        ids = sorted(ids_by_kind[kind])
        random.Random(f"{seed}:{kind}").shuffle(ids)
        test.update(ids[:round(len(ids) * test_share)])
    return test


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.split", description=__doc__.splitlines()[0])
    parser.add_argument("pool", type=Path, help="the new questions (JSONL)")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--test-share", type=float, default=0.5)
    parser.add_argument("--dev", type=Path, required=True, help="dev file: the dev half is appended")
    parser.add_argument("--test", type=Path, required=True, help="test file: written (must not exist)")
    args = parser.parse_args(argv)
    if args.test.exists():
        parser.error(f"{args.test} exists: a test split is made once")
    rows = [json.loads(line) for line in args.pool.read_text(encoding="utf-8").splitlines() if line.strip()]
    kinds: dict[str, list[str]] = {}
    for row in rows:
        kinds.setdefault(row["kind"], []).append(row["id"])
    test = split(kinds, args.seed, args.test_share)
    with args.dev.open("a", encoding="utf-8") as dev, args.test.open("w", encoding="utf-8") as out:
        for row in rows:
            name = "test" if row["id"] in test else "dev"
            (out if name == "test" else dev).write(json.dumps({**row, "split": name}, ensure_ascii=False) + "\n")
    print(f"{len(test)} to test, {len(rows) - len(test)} to dev")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
