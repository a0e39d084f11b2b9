"""The HTTP side of a machine: one client per command, built from the link `sync init` made.

Every way the server can fail to answer (refused, reset, timed out, cut mid-response, a
proxy's 502/503/504) becomes `SyncUnreachable`; 401 and 403 are `Unauthorized`/`Forbidden`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Forbidden, MemoryError_, SyncUnreachable, Unauthorized, UsageError
from ..settings import Settings
from ..store.protocol.sync import SyncState

if TYPE_CHECKING:  # imported where a request is made: `sync status` and `memory status` need none
    import httpx

TOKEN_FILE = "sync-token"
PREFIX = "/api/v1/sync/"


def save_token(settings: Settings, token: str) -> Path:
    """The token in MEMORY_HOME/sync-token, mode 0600 (a credential: never in the store)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.home / TOKEN_FILE
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token.strip() + "\n")
    os.replace(tmp, path)
    return path


def load_token(settings: Settings) -> str:
    """MEMORY_SYNC_TOKEN, else the file `sync init` wrote."""
    token = settings.sync.token
    if token:
        return token
    try:
        return (settings.home / TOKEN_FILE).read_text().strip()
    except FileNotFoundError:
        raise UsageError("no sync token: run `memory sync init --server URL --token TOKEN` "
                         "(or set MEMORY_SYNC_TOKEN)") from None


class SyncClient:
    """Requests to one server as one machine (`machine_id`, `hostname`, `submodule`)."""

    def __init__(self, server: str, token: str, machine_id: str, hostname: str,
                 submodule: str | None, timeout: float = 600.0) -> None:
        import httpx

        self.server = server.rstrip("/")
        self.machine_id, self.hostname, self.submodule = machine_id, hostname, submodule
        # A server that does not connect within 10 s is unreachable; one that answers slowly
        # (its writes are serialised: pushes from many machines queue) is waited for.
        self.http = httpx.Client(base_url=self.server + PREFIX,
                                 timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
                                 headers={"Authorization": f"Bearer {token}"},
                                 # plain http has no certificate to check: skip loading the
                                 # CA bundle (~0.1 s of every command); https verifies as usual
                                 verify=not self.server.startswith("http://"))

    @classmethod
    def from_state(cls, settings: Settings, state: SyncState) -> SyncClient:
        return cls(state["server"], load_token(settings), state["machine_id"], state["hostname"],
                   state["submodule"], settings.sync.timeout_seconds)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def who(self) -> dict[str, str]:
        """The query parameters that name this machine on every request."""
        out = {"machine": self.machine_id, "hostname": self.hostname}
        if self.submodule:
            out["submodule"] = self.submodule
        return out

    # --- the interface sync/mutable.py uses ----------------------------------------------
    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._send("POST", path, params=self.who, json=body))

    def get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._send("GET", path, params={**self.who, **params}))

    # --- message batches -------------------------------------------------------------------
    def post_bytes(self, path: str, params: dict[str, Any], data: bytes) -> dict[str, Any]:
        """A zstd-compressed batch of JSON Lines; the server's answer as JSON."""
        return self._json(self._send("POST", path, params={**self.who, **params}, content=data,
                                     headers={"Content-Type": "application/zstd"}))

    def get_bytes(self, path: str, params: dict[str, Any]) -> tuple[bytes, httpx.Headers]:
        r = self._send("GET", path, params={**self.who, **params})
        return r.content, r.headers

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        import httpx

        try:
            r = self.http.request(method, path, **kw)
            r.read()  # the whole body now: a cut mid-response is an error here
        except httpx.TransportError as e:  # connect, read, write, timeout, protocol
            raise SyncUnreachable(
                f"the sync server {self.server} did not answer ({_cause(e)}); nothing is lost: "
                "what was not sent stays queued for the next `memory sync push`") from None
        if r.status_code < 400:
            return r
        message = _message(r)
        if r.status_code == 401:
            raise Unauthorized(f"the sync server {self.server} refused the token ({message}); "
                               "get a new one and run `memory sync init` again")
        if r.status_code == 403:
            raise Forbidden(f"the sync server {self.server} refused: {message}")
        if r.status_code in (502, 503, 504):
            raise SyncUnreachable(
                f"the sync server {self.server} is unavailable (HTTP {r.status_code}: {message}); "
                "what was not sent stays queued for the next `memory sync push`")
        raise MemoryError_(f"the sync server {self.server} answered HTTP {r.status_code}: {message}")

    def _json(self, r: httpx.Response) -> dict[str, Any]:
        try:
            out = r.json()
        except ValueError:
            raise SyncUnreachable(f"the sync server {self.server} sent an answer that is not "
                                  "JSON (cut short?); run the command again") from None
        if not isinstance(out, dict):
            raise MemoryError_(f"the sync server {self.server} sent an unexpected answer")
        return out


def _cause(e: httpx.TransportError) -> str:
    import httpx

    if isinstance(e, httpx.TimeoutException):
        return "timed out"
    if isinstance(e, httpx.ConnectError):
        return "connection refused" if "refused" in str(e).lower() else f"cannot connect: {e}"
    if isinstance(e, httpx.RemoteProtocolError):
        return "the connection was cut mid-response"
    return str(e) or type(e).__name__


def _message(r: httpx.Response) -> str:
    try:
        body = r.json()
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return r.text[:200].strip() or r.reason_phrase
