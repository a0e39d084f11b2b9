"""One module per area, each an APIRouter mounted under /api/v1 by app.py (ROUTERS)."""

ROUTERS = ("health", "search", "sessions", "reports", "backups", "ingest", "metrics",
           "context", "memories", "checkpoints", "sync", "sync_mutable")
