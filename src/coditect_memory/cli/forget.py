"""`memory forget`: hide messages at once, purge them for good (GDPR)."""

from __future__ import annotations

import sys

import click

from .output import console, get_config, json_option, print_json


@click.command()
@click.option("--session", "sessions", multiple=True, help="A session id (repeatable).")
@click.option("--project", help="Every message of this project (its path or name).")
@click.option("--match", help="Every message whose text contains TEXT.")
@click.option("--before", help="Every message dated before this time (2025-11-15 or ISO); undated rows stay.")
@click.option("--reason", help="Why (kept in the audit log).")
@click.option("--hard", is_flag=True, help="Purge at once: no bytes left under MEMORY_HOME.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def forget(sessions: tuple[str, ...], project: str | None, match: str | None,
           before: str | None, reason: str | None, hard: bool, yes: bool, as_json: bool) -> None:
    """Forget messages: hidden at once from search, show, reports, timeline and export, and
    never stored again by a later ingest or restore. Purged for good after [privacy]
    purge_after_days (default 30), or at once with --hard. Given filters must all hold."""
    from ..actions.forget import ForgetRequest, plan
    from ..actions.forget import forget as run_forget
    from ..errors import UsageError
    from ..store import open_store
    from ..store.protocol.privacy import ForgetSelector
    from ..timeutil import parse_user_time

    sel = ForgetSelector(sessions=sessions, project=project, match=match,
                         before_ms=parse_user_time(before) if before else None)
    config = get_config()
    with open_store(config, create=False) as store:
        found = plan(store, sel)
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(f"this would forget {found.messages:,} messages in "
                                 f"{len(found.sessions):,} sessions; pass --yes to confirm")
            what = "purge for good" if hard else "forget"
            click.confirm(f"{what} {found.messages:,} messages in {len(found.sessions):,} "
                          "sessions?", abort=True)
        result = run_forget(store, config, ForgetRequest(sel, reason, hard))
    if as_json:
        print_json(result.to_json())
        return
    when = "purged now" if hard else f"purged for good on {result.purge_at[:10] if result.purge_at else '?'}"
    console().print(f"Forgot {result.messages:,} messages in {result.sessions:,} sessions "
                    f"(request {result.forget_id}; {when}).")
