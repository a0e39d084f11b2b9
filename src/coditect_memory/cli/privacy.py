"""`memory privacy`: secrets in what is stored, privacy levels, purging forgotten rows."""

from __future__ import annotations

import click

from .output import console, get_config, json_option, open_readonly, print_json


@click.group()
def privacy() -> None:
    """Secrets and privacy levels. New data is masked at capture ([privacy] secrets = "mask");
    these commands look at, and fix, what is already stored."""


def _render_scan(result, verb: str) -> None:
    c = console()
    c.print(f"{result.messages_scanned:,} messages scanned, {result.messages_with_findings:,} "
            f"with secrets{verb}")
    for rule, f in sorted(result.findings.items(), key=lambda kv: -kv[1]["count"]):
        c.print(f"  {rule:28} {f['count']:>7,}  sessions: {', '.join(s[:8] for s in f['sessions'][:5])}")


@privacy.command()
@json_option
def scan(as_json: bool) -> None:
    """Report the secrets in stored messages and file versions: kind, count and where (never
    the value). `memory privacy apply` masks them."""
    from ..actions.privacy import scan as run_scan

    with open_readonly() as store:
        result = run_scan(store, get_config())
    if as_json:
        print_json(result.to_json())
    else:
        _render_scan(result, "")


@privacy.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def apply(yes: bool, as_json: bool) -> None:
    """Mask the secrets in stored rows, rebuild the search index, and leave no clear copy in
    the store's free pages or its WAL."""
    from ..actions.privacy import scan as run_scan
    from ..store import open_store

    if not yes:
        click.confirm("rewrite the stored rows that hold secrets?", abort=True)
    config = get_config()
    with open_store(config, create=False) as store:
        result = run_scan(store, config, apply=True)
    if as_json:
        print_json(result.to_json())
    else:
        _render_scan(result, f"; {result.rewritten:,} rows and {result.blobs_rewritten:,} "
                             "file versions masked")


@privacy.command("set")
@click.argument("name")
@click.argument("level", type=click.Choice(["PUBLIC", "TEAM", "PRIVATE", "EPHEMERAL"],
                                           case_sensitive=False))
@click.option("--session", "is_session", is_flag=True, help="NAME is a session id (an override).")
@click.option("--reason", help="Why (kept in the audit log).")
@json_option
def set_(name: str, level: str, is_session: bool, reason: str | None, as_json: bool) -> None:
    """Set the privacy level of a project (its path or name) or, with --session, of one session."""
    from ..actions.privacy import set_level
    from ..store import open_store

    with open_store(get_config(), create=False) as store:
        result = set_level(store, "session" if is_session else "project", name, level, reason,
                           get_config().home)
    if as_json:
        print_json(result.to_json())
    else:
        console().print(f"{result.scope} {result.name}: {result.level}")


@privacy.command("levels")
@json_option
def levels_(as_json: bool) -> None:
    """The level of every project and session that has one (others: the default)."""
    from ..actions.privacy import levels

    with open_readonly() as store:
        result = levels(store, get_config())
    if as_json:
        print_json(result.to_json())
        return
    c = console()
    c.print(f"default: {result.default}")
    for name, level in sorted(result.projects.items()):
        c.print(f"project {name}: {level}")
    for name, level in sorted(result.sessions.items()):
        c.print(f"session {name}: {level}")


@privacy.command()
@click.option("--all", "everything", is_flag=True, help="Every forgotten row, not only those due.")
@json_option
def purge(everything: bool, as_json: bool) -> None:
    """Purge forgotten rows whose purge_after_days have passed (or --all), and audit
    entries past their retention."""
    from ..actions.privacy import purge as run_purge
    from ..store import open_store

    config = get_config()
    with open_store(config, create=False) as store:
        result = run_purge(store, config, everything)
    if as_json:
        print_json(result.to_json())
    else:
        console().print(f"{result.rows:,} forgotten rows purged; {result.audit_entries_dropped:,} "
                        "audit entries past retention dropped")
