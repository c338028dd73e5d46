"""A small thread-safe cache whose entries expire: what a process may keep for a while
without asking again (a customer's saved cards)."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

_MISSING = object()


class TTLCache:
    """At most ``size`` entries, each for ``seconds``; the least recently set goes first."""

    def __init__(self, size: int, seconds: float):
        self.size = size
        self.seconds = seconds
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            found = self._items.get(key, _MISSING)
            if found is _MISSING:
                return default
            expires, value = found
            if expires <= time.monotonic():
                del self._items[key]
                return default
            return value

    def set(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (time.monotonic() + self.seconds, value)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)
