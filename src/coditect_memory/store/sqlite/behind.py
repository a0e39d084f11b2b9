"""An ingest run's batches written by a second process while the next batch is parsed.

SQLite's insert steps take a third of a big first ingest's time, and a thread cannot overlap
them with parsing (sqlite3 takes the GIL back after each row: benchmarks/RESULTS.md); on
PostgreSQL a thread left the ingest process waiting on the server's round trips and sharing
the GIL with the COPY. So, during a run that asks for it (`write_behind` ... `written`,
called by ingest/pipeline.py around its reads), `write_batch` splits each batch in two:

- the ingest process builds what needs the records and no database
  (`SQLiteStore._prepare`): the message rows (metadata as JSON text, hashes), blobs and
  usage rows; sent as tuples of primitives (`Prepared`, marshalled);
- the writer process (`writer_main`, its own connection to the same store) does the rest in
  one transaction (`_write_prepared`; on PostgreSQL one COPY): the rows' uid and uuid keys
  and row facts (`_finish_rows`: made from the row itself, they cost the same in either
  process, and the ingest process is the critical path), packing (zstd with the dictionaries it
  trains and stores, as the ingest process would: packing.py), project ids, each session's
  project, the INSERTs, a debug log's growing line, usage, sessions, errors and the batch's
  files' watermarks, then COMMIT — one batch, one transaction, exactly as without it.
  Packing is the writer's because it needs the dictionaries' ids (read and written under
  the write lock) and because it balances the two cores: the ingest process (readers,
  masking, rows) is the longer of the two, and the writer shares its core with the
  keyword-index follower (benchmarks/RESULTS.md).

Up to AHEAD batches in flight: batch N+AHEAD is marshalled, then its `write_batch` waits for
batch N's acknowledgement before sending it; batches commit in order (one pipe, one writer).
More than one, because the writer shares its core with the keyword-index follower (cores.py)
and stalls at checkpoints: with one, the ingest's process waited for its acknowledgement 7%
of the time. Counting: the writer counts each batch's new rows (and, as the pipeline does,
those of files whose watermark comes in a later batch), `write_batch` returns (0, 0) and
`written()` gives the run's totals once the last batch is committed.

Failures: an error inside the writer (a full disk, a constraint) rolls its batch back and
is raised in the ingest process by the next `write_batch` or by `written()`; nothing after
it is written. The writer gone (killed) is the same, as a one-line StoreError. The ingest
process gone (killed): the writer writes the whole batches already in its pipe (each a
transaction with its watermarks; a batch cut short is dropped), sees the pipe closed and
exits; the next run goes on from there as after any kill.
"""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ...cores import leave_first_core
from ...errors import StoreError
from ..protocol.ingest import FileUpdate, IngestError

if TYPE_CHECKING:
    from .backend import SQLiteStore

Row = tuple[Any, ...]
# How the writer process opens its own store: a store class, its arguments and keywords
# (pickled: the class travels as its module and name).
Opener = tuple[type, tuple[Any, ...], dict[str, Any]]
STOP_SECONDS = 60.0  # the writer's last batch, then its exit; killed after that
AHEAD = 3  # batches sent and not yet acknowledged, at most
PIPE_BYTES = 1 << 20  # a batch (~1 MB) written in one go: no wake-up per 64 KB of it


@dataclass
class Prepared:
    """A batch as the writer receives it (`SQLiteStore._prepare`): `Batch`'s fields with the
    records turned into rows."""

    run_id: int
    rows: list[Row]  # in record order
    growing: list[int]  # positions of the rows that may have grown (a debug log's last entry)
    blobs: list[Row]
    usage_rows: list[Row]
    file_backups: list[tuple[str, str, str]]
    sessions: dict[str, dict[str, Any]]
    errors: list[IngestError]
    files: list[FileUpdate]
    new_by_file: dict[int, int]


class SQLiteWriteBehind:
    """store/protocol/write_behind.py: the writer process, started per run (for SQLite, and
    for PostgreSQL, which opens its own connection to the server in it)."""

    path: str
    readonly: bool
    _timeout: float
    _behind_writer: Writer | None = None
    behind_cost: dict[str, Any] | None = None  # the last writer's CPU seconds and peak RSS

    def write_behind(self) -> bool:
        if self.readonly or self._behind_writer is not None:
            return False
        self._behind_writer = Writer.start(self._writer_opener())
        return self._behind_writer is not None

    def _writer_opener(self) -> Opener:
        """How the writer process opens this store."""
        from .backend import SQLiteStore

        return SQLiteStore, (self.path,), {"busy_timeout": self._timeout}

    def written(self) -> tuple[int, int]:
        writer, self._behind_writer = self._behind_writer, None
        if writer is None:
            return 0, 0
        try:
            return writer.finish()
        finally:
            self.behind_cost = writer.cost


class Writer:
    """The ingest process's end of the writer process."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.in_flight: deque[int] = deque()  # rows of each batch sent and not yet acknowledged
        self.new = self.rows = 0  # of the batches acknowledged
        self.cost: dict[str, Any] = {}  # its CPU seconds and peak RSS (benchmarks)

    @classmethod
    def start(cls, opener: Opener) -> Writer | None:
        """The process, started; None where it cannot run (batches are then written here)."""
        src = str(Path(__file__).resolve().parents[3])  # this code, whatever sys.path says
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (src, os.environ.get("PYTHONPATH")) if p)}
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", "from coditect_memory.store.sqlite.behind import"
                 " writer_main; writer_main()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env=env)
        except OSError:
            return None
        with contextlib.suppress(OSError, AttributeError):  # Linux only; the default elsewhere
            fcntl.fcntl(proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[union-attr]
        writer = cls(proc)
        try:
            writer._send(opener)
        except StoreError:
            writer._close()
            return None
        return writer

    def send(self, prep: Prepared) -> None:
        """Hand a batch over once at most AHEAD - 1 are still in flight (the first error of
        one that is not, raised here)."""
        data = _dump_batch(prep)  # while the writer works
        while len(self.in_flight) >= AHEAD:
            self._settle_one()
        self._send(data, encoded=True)
        self.in_flight.append(len(prep.rows))

    def finish(self) -> tuple[int, int]:
        """Wait for the last batch, end the process; (new, duplicates) of every batch."""
        try:
            self._settle()
        finally:
            self._close()
        return self.new, self.rows - self.new

    def _settle(self) -> None:
        while self.in_flight:
            self._settle_one()

    def _settle_one(self) -> None:
        rows = self.in_flight.popleft()
        status, value = _receive(self._out())
        if status == "error":
            self.in_flight.clear()  # those behind it are refused: _close reads their replies
            raise value
        self.new += value
        self.rows += rows

    def _send(self, obj: Any, encoded: bool = False) -> None:
        data = obj if encoded else pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(len(data).to_bytes(8, "big"))
            self.proc.stdin.write(data)  # not copied into one with its length
            self.proc.stdin.flush()
        except OSError:
            raise self._gone() from None

    def _out(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return _Reader(self.proc.stdout, self._gone)  # type: ignore[return-value]

    def _gone(self) -> StoreError:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        how = f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"
        return StoreError(f"the store's writer process ended before it committed a batch ({how});"
                          " nothing of that batch was kept: run `memory ingest` again to finish")

    def _close(self) -> None:
        """Its pipe closed: it exits after the batch it holds (none, after a settle)."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=STOP_SECONDS)
            if self.proc.stdout is not None:
                status, value = _receive(self._out())
                while status != "end":  # past the replies left after an error
                    status, value = _receive(self._out())
                self.cost = value
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        except StoreError:
            pass  # it ended without saying what it cost


class _Reader:
    """A pipe's exact reads; its end raises what `gone()` makes."""

    def __init__(self, pipe: IO[bytes], gone: Any) -> None:
        self.pipe, self.gone = pipe, gone

    def read(self, n: int) -> bytes:
        data = self.pipe.read(n)
        if len(data) < n:
            raise self.gone()
        return data


class _Ended(Exception):
    """The ingest process closed its end of the pipe."""


def _receive(pipe: Any) -> Any:
    return pickle.loads(pipe.read(int.from_bytes(pipe.read(8), "big")))


_FILE_FIELDS = tuple(f.name for f in fields(FileUpdate))


def _dump_batch(prep: Prepared) -> bytes:
    """A batch for the pipe: its fields as plain values with marshal, which the writer loads
    ~2x faster than a pickle (benchmarks/RESULTS.md); a pickle when a value is of another
    type (marshal takes only Python's own)."""
    files = [tuple(getattr(f, name) for name in _FILE_FIELDS) for f in prep.files]
    try:
        return b"M" + marshal.dumps((prep.run_id, prep.rows, prep.growing, prep.blobs,
                                     prep.usage_rows, prep.file_backups, prep.sessions,
                                     prep.errors, files, prep.new_by_file))
    except ValueError:
        return b"P" + pickle.dumps(prep, protocol=pickle.HIGHEST_PROTOCOL)


def _load_batch(pipe: Any) -> Prepared:
    data = pipe.read(int.from_bytes(pipe.read(8), "big"))
    if data[:1] == b"P":
        prep: Prepared = pickle.loads(memoryview(data)[1:])
        return prep
    (run_id, rows, growing, blobs, usage_rows, file_backups, sessions, errors, files,
     new_by_file) = marshal.loads(memoryview(data)[1:])
    return Prepared(run_id, rows, growing, blobs, usage_rows, file_backups, sessions, errors,
                    [FileUpdate(*f) for f in files], new_by_file)


def _reply(out: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(8, "big") + data)
    out.flush()


def _portable(e: Exception) -> Exception:
    """`e` as the ingest process can raise it: itself when it pickles, else one line."""
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # noqa: BLE001 - any exception a batch can raise
        return StoreError(f"writing a batch failed: {type(e).__name__}: {e}")


def _store(store: SQLiteStore, prep: Prepared, file_new: dict[int, int]) -> int:
    """One batch, one transaction; `file_new`: new rows of files still being read, which
    their watermark's batch counts (as ingest/pipeline.py's `file_new` without a writer)."""
    for f in prep.files:
        f.messages_new += file_new.pop(f.file_id, 0)
    with store.tx() as db:
        new = store._write_prepared(db, prep)
    done = {f.file_id for f in prep.files}
    for file_id, n in prep.new_by_file.items():
        if file_id not in done:
            file_new[file_id] = file_new.get(file_id, 0) + n
    return new


def _bind_directly() -> None:
    """Python's sqlite3 (3.11) binds a None or a bytes value through its adaptation path (a
    registry look-up, then `__adapt__` and `__conform__` looked up), ~1 µs a value, where an
    int or a str costs ~0.1; a message row has ~14 Nones and ~3 bytes values. With an adapter
    registered for each, the registry answers first and the same value is bound: the writer's
    INSERTs of 150k messages took 5.3 CPU s instead of 8.4. Registered in the writer process
    only (the registry is sqlite3's, for the whole process; this one runs nothing else)."""
    from .backend import _same

    sqlite3.register_adapter(type(None), _same)
    sqlite3.register_adapter(bytes, _same)


def writer_main() -> None:
    """The writer process: how to open the store (Opener) on stdin, then batches until EOF;
    one reply a batch (("ok", new rows) or ("error", exception): the first error is every
    later batch's too), then ("end", its cost)."""
    import resource

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the ingest's: it closes our stdin
    leave_first_core()  # to the ingest's process: cores.py
    _bind_directly()
    stdin, stdout = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes where stderr goes, not into the replies
    pipe = _Reader(stdin, _Ended)
    store: SQLiteStore | None = None
    file_new: dict[int, int] = {}
    try:
        kind, args, kwargs = _receive(pipe)
        opened: SQLiteStore | Exception = kind(*args, create=False, **kwargs)
    except _Ended:
        return
    except Exception as e:  # noqa: BLE001 - told to the ingest at its first batch
        opened = e
    try:
        while True:
            prep = _load_batch(pipe)
            try:
                if isinstance(opened, Exception):
                    raise opened
                store = opened
                reply: tuple[str, Any] = ("ok", _store(store, prep, file_new))
            except Exception as e:  # noqa: BLE001 - raised in the ingest process
                reply = ("error", _portable(e))
                opened = e  # the batches sent behind it are refused: none is written after it
            _reply(stdout, reply)
    except (_Ended, BrokenPipeError):
        pass
    finally:
        if store is not None:
            store.close()
    use = resource.getrusage(resource.RUSAGE_SELF)
    with contextlib.suppress(OSError):
        _reply(stdout, ("end", {"cpu_seconds": round(use.ru_utime + use.ru_stime, 2),
                                "peak_rss": use.ru_maxrss * 1024}))
