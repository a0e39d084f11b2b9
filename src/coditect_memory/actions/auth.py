"""API tokens: issue, list, revoke, and check one presented by a request.

A token is a JWT (HS256) signed with a secret made on first use in $MEMORY_HOME (mode 0600,
never printed); it carries its id, name, scope and submodules. The store keeps the registry
(never the token): every check reads the token's row, so a revoked token fails on the very
next request, without a restart.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Forbidden, NotFound, Unauthorized, UsageError
from ..settings import Settings
from ..store.base import Store
from ..store.protocol.access import TokenRow

SCOPES = ("read", "write", "admin", "metrics")
# What each scope may do: admin everything; write also reads; metrics only /metrics.
GRANTS = {"read": {"read"}, "write": {"read", "write"}, "admin": {"read", "write", "admin", "metrics"},
          "metrics": {"metrics"}}
SECRET_FILE = "api-secret"
_TTL = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_ttl(text: str | None) -> int | None:
    """'90d', '12h', '30m', '2w' as seconds; 'never' or '0' as None (no expiry)."""
    if text is None or text.strip().lower() in ("never", "0"):
        return None
    m = _TTL.match(text.strip().lower())
    if not m or int(m.group(1)) == 0:
        raise UsageError(f"--ttl {text!r}: use a number and a unit (s, m, h, d, w), e.g. 90d, or never")
    return int(m.group(1)) * _UNITS[m.group(2)]


def secret(settings: Settings) -> bytes:
    """The signing secret, made on first use (32 random bytes, mode 0600)."""
    path = settings.home / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    settings.home.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return Path(path).read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(value)
    return value


@dataclass(frozen=True)
class Issued:
    token: str
    row: TokenRow

    def to_json(self) -> dict[str, Any]:
        return {"token": self.token, **self.row}


def issue(store: Store, settings: Settings, name: str, scope: str,
          submodules: list[str] | None = None, ttl: str | None = "90d") -> Issued:
    """A new signed token; its row goes to the store's registry."""
    import jwt

    if scope not in SCOPES:
        raise UsageError(f"--scope must be one of {', '.join(SCOPES)}")
    if not name.strip():
        raise UsageError("--name must not be empty")
    subs = sorted(set(submodules or []))
    known = {s["name"] for s in store.submodules()}
    unknown = [s for s in subs if s not in known]
    if unknown:
        raise NotFound(f"no submodule {unknown[0]!r}; `memory submodule add` makes one")
    seconds = parse_ttl(ttl)
    now = int(time.time())
    token_id = secrets.token_hex(8)
    claims: dict[str, Any] = {"jti": token_id, "sub": name, "scope": scope, "subm": subs, "iat": now}
    if seconds is not None:
        claims["exp"] = now + seconds
    store.add_token(token_id, name, scope, subs, now * 1000,
                    (now + seconds) * 1000 if seconds is not None else None)
    row = store.token(token_id)
    assert row is not None  # just written
    from ..privacy import audit

    audit.record(store, "token.mint", target=token_id, home=settings.home,
                 detail={"name": name, "scope": scope, "submodules": subs})
    return Issued(jwt.encode(claims, secret(settings), algorithm="HS256"), row)


@dataclass
class TokenList:
    tokens: list[TokenRow]

    def to_json(self) -> list[TokenRow]:
        return self.tokens


def list_tokens(store: Store) -> TokenList:
    return TokenList(store.tokens())


@dataclass(frozen=True)
class Revoked:
    id: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "revoked": True}


def revoke(store: Store, token_id: str, home: Path | None = None) -> Revoked:
    """`home`: where deferred audit entries wait, chained before this one (in time order)."""
    if not store.revoke_token(token_id, int(time.time() * 1000)):
        if store.token(token_id) is None:
            raise NotFound(f"no token {token_id!r}; `memory auth list` shows them")
        raise UsageError(f"token {token_id!r} is already revoked")
    from ..privacy import audit

    audit.record(store, "token.revoke", target=token_id, home=home)
    return Revoked(token_id)


@dataclass(frozen=True)
class Principal:
    """Who a request is: the token's id, name, scope and submodules (empty: everything)."""

    id: str
    name: str
    scope: str
    submodules: tuple[str, ...] = field(default=())

    def require(self, need: str) -> None:
        if need not in GRANTS[self.scope]:
            raise Forbidden(f"this needs a token with scope {need} (or admin); yours is {self.scope}")

    @property
    def submodule(self) -> str | None:
        return ",".join(self.submodules) or None


def authenticate(store: Store, key: bytes, header: str | None) -> Principal:
    """The principal of an `Authorization: Bearer <token>` header; Unauthorized when it is
    missing, malformed, forged, expired or revoked."""
    import jwt

    if not header:
        raise Unauthorized("no token: send `Authorization: Bearer <token>` (`memory auth token` makes one)")
    kind, _, text = header.partition(" ")
    if kind.lower() != "bearer" or not text.strip():
        raise Unauthorized("malformed Authorization header: use `Bearer <token>`")
    try:
        claims = jwt.decode(text.strip(), key, algorithms=["HS256"],
                            options={"require": ["jti", "scope", "iat"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired; ask for a new one (`memory auth token`)") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the token is not valid (malformed or not signed by this server)") from None
    row = store.token(str(claims["jti"]))
    if row is None or row["revoked_at"] is not None:
        raise Unauthorized("the token has been revoked; ask for a new one (`memory auth token`)")
    return Principal(row["id"], row["name"], row["scope"], tuple(row["submodules"]))
