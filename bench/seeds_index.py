"""The benchmarks' shared start: an index of seeds/ (built into a temporary folder unless one is
given), and the dev questions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def seeds_index(data_dir: Path | None):
    """`data_dir` as it is, or seeds/ indexed by `rag index` into a folder removed afterwards."""
    if data_dir is not None:
        yield data_dir
        return
    with TemporaryDirectory() as tmp:
        built = Path(tmp) / "index"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        subprocess.run([sys.executable, "-m", "rag", "--data-dir", str(built), "index", str(ROOT / "seeds"),
                        "--no-progress"], env=env, check=True, capture_output=True, cwd=ROOT)
        yield built


def dev_questions(n: int | None = None) -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "data" / "seeds_dev.jsonl").read_text().splitlines() if line]
    return [row["question"] for row in rows][:n]
