"""The API's response cache: answers of read routes keyed by (route, normalised parameters,
the caller's visibility, store generation). A write bumps the generation, so an entry is
never served after it; the TTL only bounds memory. In-process (LRU) by default; Redis when
a URL is set, shared by workers and machines."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from typing import Protocol


class ResponseCache(Protocol):
    kind: str

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...


class LocalCache:
    """A TTL LRU in this process's memory."""

    kind = "memory"

    def __init__(self, entries: int, ttl: float) -> None:
        self.entries, self.ttl = entries, ttl
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return item[1]

    def put(self, key: str, value: bytes) -> None:
        if self.entries <= 0:
            return
        with self._lock:
            self._data[key] = (time.monotonic() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.entries:
                self._data.popitem(last=False)


class RedisCache:
    """Entries in Redis (SET with EX): shared by every worker. A Redis that stops answering
    makes the cache miss, never the request fail."""

    kind = "redis"
    PREFIX = "memory:api:"

    def __init__(self, url: str, ttl: float) -> None:
        import redis

        self.ttl = max(1, int(ttl))
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._errors = redis.RedisError

    def get(self, key: str) -> bytes | None:
        try:
            value = self._redis.get(self.PREFIX + key)
        except self._errors:
            return None
        return value if isinstance(value, bytes) else None

    def put(self, key: str, value: bytes) -> None:
        with contextlib.suppress(self._errors):
            self._redis.set(self.PREFIX + key, value, ex=self.ttl)


def open_cache(redis_url: str | None, entries: int, ttl: float) -> ResponseCache:
    return RedisCache(redis_url, ttl) if redis_url else LocalCache(entries, ttl)
