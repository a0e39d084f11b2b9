"""The Store interface: what ingest writes and what every reader of the store may ask.

One abstract class per concern under protocol/ (ingest, read, search, reports, backup);
`Store` joins them, and a backend implements all of it. Dialect-specific SQL lives in the
backends (sqlite/, later postgres/); nothing above this layer builds SQL. Each method is
one transaction. A Store may be used from several threads: the backend gives each thread
its own connection.
"""

from __future__ import annotations

from abc import abstractmethod

from .protocol.access import AccessStore
from .protocol.admin import AdminStore
from .protocol.backup import BackupStore, DeltaUnavailable
from .protocol.file_versions import FileVersionStore
from .protocol.index_follow import IndexFollowStore
from .protocol.ingest import Batch, FileState, FileUpdate, IngestError, IngestStore
from .protocol.memories import MemoryStore
from .protocol.plan_sessions import PlanSessionStore
from .protocol.privacy import PrivacyStore
from .protocol.read import Message, ReadStore, Run, RunError, RunFile, Session, SourceFile, Status
from .protocol.reports import ReportStore
from .protocol.reports_behind import ReportsBehindStore
from .protocol.search import SearchStore
from .protocol.sync import SyncStore
from .protocol.sync_held import SyncHeldStore
from .protocol.sync_mutable import SyncMutableStore
from .protocol.transfer import TransferStore
from .protocol.usage_times import UsageTimesStore
from .protocol.write_behind import WriteBehindStore

__all__ = ["Batch", "DeltaUnavailable", "FileState", "FileUpdate", "IngestError", "Message", "Run",
           "RunError", "RunFile", "Session", "SourceFile", "Status", "Store"]


class Store(IngestStore, ReadStore, SearchStore, ReportStore, BackupStore, TransferStore,
            AccessStore, MemoryStore, AdminStore, PrivacyStore, UsageTimesStore, SyncStore,
            SyncMutableStore, SyncHeldStore, FileVersionStore, IndexFollowStore, PlanSessionStore, WriteBehindStore, ReportsBehindStore):
    kind: str = "?"  # "sqlite", "postgresql": named in status and in backup manifests
    readonly: bool = False  # opened read-only: every write raises StoreError

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
