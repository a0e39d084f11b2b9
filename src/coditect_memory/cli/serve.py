"""`memory serve`: the REST API and the web UI (uvicorn over api/)."""

from __future__ import annotations

import ipaddress
import socket

import click

from ..errors import UsageError
from .output import get_config


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """One clear line when the address cannot be bound (uvicorn would print a traceback-ish
    log and exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise UsageError(f"cannot listen on {host}:{port}: {e.strerror}; pass another "
                             "--port (or --host)") from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default; put TLS in a reverse proxy).")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (each keeps its own store connection and index).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the REST API (/api/v1, docs at /api/v1/docs) and the web UI (/).

    Every route but /api/v1/health needs a token: `memory auth token --name NAME --scope read`.
    """
    import uvicorn

    from ..store import open_store

    settings = get_config()
    open_store(settings, create=False).close()  # no store: one line saying what to run
    _check_port(host, port)
    if not _loopback(host):
        click.echo(f"memory: warning: listening on {host}, not loopback: tokens and your "
                   "history cross the network in clear. Put a TLS reverse proxy (Caddy, nginx; "
                   "see the README) in front and keep this port closed to others.", err=True)
    click.echo(f"memory: serving http://{host}:{port}/ (API docs at /api/v1/docs); Ctrl-C stops",
               err=True)
    uvicorn.run("coditect_memory.api.app:from_environment", factory=True, host=host, port=port,
                workers=workers, log_level=log_level, access_log=False)
