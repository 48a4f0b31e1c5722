"""`LoginThrottle`: failed logins held to a slowing pace, for every edge that has a login (the
chat window's guard and the MCP server over HTTP)."""

from __future__ import annotations

import threading
import time

LOGIN_FREE_FAILURES = 5  # failed logins from one client before each further attempt must wait
LOGIN_FIRST_DELAY_S = 1.0  # that wait, doubling with each further failure
LOGIN_MAX_DELAY_S = 300.0
LOGIN_FORGET_S = 900.0  # failures older than this are forgotten


class LoginThrottle:
    """Failed logins per client address: a few are free, then each attempt must wait a delay that
    doubles with every further failure, up to a cap; failures are forgotten after a quiet while.
    An attempt counts as failed from the moment it is let through until it succeeds, so that
    guesses sent all at once are held to the same pace as guesses sent one by one."""

    def __init__(self, free: int = LOGIN_FREE_FAILURES, first_delay_s: float = LOGIN_FIRST_DELAY_S,
                 max_delay_s: float = LOGIN_MAX_DELAY_S, forget_s: float = LOGIN_FORGET_S) -> None:
        self.free, self.first_delay_s, self.max_delay_s, self.forget_s = free, first_delay_s, max_delay_s, forget_s
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # address → (count, time of the last)

    def attempt(self, client: str) -> float:
        """0 to let an attempt through (counted as failed until `succeeded`), or the seconds
        this address must still wait."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures = {c: v for c, v in self._failures.items() if now - v[1] < self.forget_s}
            count, last = self._failures.get(client, (0, now))
            if now - last > self.forget_s:
                count = 0
            if count >= self.free:
                wait = last + min(self.first_delay_s * 2 ** (count - self.free), self.max_delay_s) - now
                if wait > 0:
                    return wait
            self._failures[client] = (count + 1, now)
            return 0.0

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
