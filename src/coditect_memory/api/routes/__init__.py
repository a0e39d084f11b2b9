"""One module per area, each an APIRouter mounted under /api/v1 by app.py (ROUTERS)."""

ROUTERS = ("health", "search", "sessions", "reports", "backups", "ingest", "metrics",
           "context", "memories", "checkpoints", "sync")
# sync_mutable (the sync-mutable branch's api/routes/sync_mutable.py): the coordinator adds
# "sync_mutable" above when that module is merged.
