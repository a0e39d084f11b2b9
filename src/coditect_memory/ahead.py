"""Read ahead: the next items of an iterator produced in a thread while the caller works on the
current one (a database read beside an index or SQLite write: both wait outside the GIL)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import suppress
from typing import TypeVar

T = TypeVar("T")


def read_ahead(items: Iterator[T], depth: int, name: str = "read-ahead") -> Iterator[T]:
    """`items`, up to `depth` of them produced ahead in a thread. An error in the thread is
    raised in the caller's; a caller that stops early stops the thread after its current item."""
    ready: queue.Queue[T | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                ready.put(item)
            ready.put(None)
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            ready.put(e)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a producer blocked on a full queue see `stop`
            with suppress(queue.Empty):
                ready.get(timeout=0.05)
        worker.join()
