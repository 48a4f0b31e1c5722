"""What a long index run shows while it works: files read of how many, chunks embedded, chunks per
second, and the time left, estimated from the bytes still to read (files differ in size far more
than in cost per byte)."""

from __future__ import annotations

import time

from index.load import Candidate


class Progress:
    def __init__(self, shown: bool, files: list[Candidate]) -> None:
        self._sizes = {c.path: _size(c) for c in files}
        self._files = len(files)
        self._read = 0
        self._chunks = 0
        self._started = time.perf_counter()
        self._bar = None
        if shown and files:
            from tqdm import tqdm

            self._bar = tqdm(total=sum(self._sizes.values()), unit="B", unit_scale=True, desc="indexing",
                             leave=False, bar_format="{desc} {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()

    def read(self, candidate: Candidate) -> None:
        self._read += 1
        if self._bar is not None:
            self._bar.update(self._sizes.get(candidate.path, 0))
            self._show()

    def wrote(self, chunks: int) -> None:
        self._chunks += chunks
        if self._bar is not None:
            self._show()

    def _show(self) -> None:
        rate = self._chunks / max(time.perf_counter() - self._started, 1e-9)
        self._bar.set_postfix_str(f"{self._read:,}/{self._files:,} files, {self._chunks:,} chunks, {rate:.1f} chunks/s",
                                  refresh=True)


def _size(candidate: Candidate) -> int:
    try:
        return candidate.path.stat().st_size
    except OSError:
        return 0
