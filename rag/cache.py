"""One bounded, thread-safe cache for what searches read again and again (chunk rows, sentence
vectors, sentence terms, document texts).

The chat answers several questions at once on one `Retriever`, so its caches are shared between
threads. The dicts they replace emptied themselves when full, and a thread that had just checked
a key could then find it gone: a search silently lost chunks. Here the lock guards every read and
write, eviction drops the least recently used entries one by one, and `get_many` assembles its
answer from values it holds locally, so another thread's eviction can never remove a key from a
result. Values are computed outside the lock: two threads may compute the same value once each,
which is harmless because every key here names immutable data (chunk ids hash the chunk's text).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a cache holds at least one entry")
        self.limit = limit
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: K) -> V | None:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        return None

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._store(key, value)

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The cached value, or `make()` remembered."""
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def get_many(self, keys: Iterable[K], fetch: Callable[[list[K]], dict[K, V]]) -> dict[K, V]:
        """The value of each key, fetching the missing ones in one call. A key `fetch` leaves out
        is left out of the answer too (a row deleted meanwhile), never any other key."""
        keys = list(dict.fromkeys(keys))
        found: dict[K, V] = {}
        with self._lock:
            for key in keys:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    found[key] = self._entries[key]
        missing = [key for key in keys if key not in found]
        if missing:
            fetched = fetch(missing)
            with self._lock:
                for key, value in fetched.items():
                    self._store(key, value)
            found.update(fetched)
        return {key: found[key] for key in keys if key in found}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _store(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)
