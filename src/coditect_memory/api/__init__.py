"""The REST API (`memory serve`): a FastAPI app over the same actions the CLI calls.

`app.py` builds the app (one Store, one SearchCache, one response cache per process);
`context.py` turns a request's token into a principal and what it may see; `routes/` holds
one module per area (search, sessions, reports, ...), each route calling one `actions/`
function and answering its `to_json()`; `errors.py` maps every MemoryError_ to an HTTP code
in one place; `static/` is the web UI.
"""

from .app import create_app

__all__ = ["create_app"]
