"""The `memory` command. Sub-commands are imported only when used, so `memory --help` and
every command start fast."""

from __future__ import annotations

import importlib
import sys

import click

from .. import __version__
from ..errors import EXIT_INTERRUPTED, MemoryError_, io_error

COMMANDS = {
    "ingest": ("ingest", "ingest", "Capture ~/.claude (or PATH) into the store, incrementally."),
    "watch": ("capture", "watch", "Follow ~/.claude and ingest what changes, within seconds."),
    "status": ("status", "status", "What the store holds: messages, sessions, projects, sources."),
    "sessions": ("sessions", "sessions", "List sessions, newest first."),
    "show": ("sessions", "show", "Show one session's conversation."),
    "search": ("search", "search", "Search every message: words, \"phrases\", prefix*, -not, OR, filters."),
    "tui": ("tui", "tui", "Search interactively: results as you type, facets, preview, resume a session."),
    "embed": ("embed", "embed", "Embed prompts and answers for semantic search (offline model; --watch)."),
    "index": ("search", "index", "Bring the search index up to date, or --rebuild it from the store."),
    "report": ("report", "report", "Reports: project activity, timeline, components, errors, usage, ..."),
    "timeline": ("report", "timeline", "What happened on a day (or range): sessions, prompts, errors."),
    "statusline": ("statusline", "statusline", "One line for Claude Code's status line: today's cost, the 5-hour block."),
    "site": ("site", "site", "Write a browsable static HTML archive: projects, sessions, search."),
    "context": ("context", "context", "What a new session should know: a token-budgeted pack of memories."),
    "memories": ("memories", "memories", "Extracted and added memories: list, show, add, edit, pin, forget."),
    "related": ("memories", "related", "Everything about a file, command, package or error."),
    "checkpoint": ("checkpoint", "checkpoint", "Snapshots of a project's context: create, list, show, export, import."),
    "hooks": ("hooks", "hooks", "Install or remove the Claude Code hooks in settings.json."),
    "hook": ("hooks", "hook", "Run by Claude Code's hooks (event JSON on stdin); always exits 0."),
    "mcp": ("mcp", "mcp", "The MCP server on stdio (search, context, memories), and `mcp install`."),
    "backup": ("backup", "backup", "Backups that restore: create, list, verify, restore, prune, schedule."),
    "export": ("transfer", "export", "Write messages as plain JSONL (one message a line, with provenance)."),
    "import": ("transfer", "import_", "Read a `memory export` JSONL file back into the store."),
    "forget": ("forget", "forget", "Forget messages (GDPR): hidden at once, purged for good later or --hard."),
    "privacy": ("privacy", "privacy", "Secrets and privacy levels: scan, apply, set, levels, purge."),
    "audit": ("audit", "audit", "The audit log: list entries, verify the hash chain."),
    "serve": ("serve", "serve", "Serve the REST API and the web UI (tokens: `memory auth`)."),
    "auth": ("auth", "auth", "API tokens: make one (scope, submodules, ttl), list, revoke."),
    "sync": ("sync", "sync", "Share this store with a team's server: init, push, pull, status, run, schedule, conflicts."),
    "submodule": ("submodule", "submodule", "Submodules: path prefixes grouping projects, for scoped tokens."),
    "db": ("db", "db", "The store's database: schema versions, upgrade, copy SQLite <-> PostgreSQL."),
    "runs": ("status", "runs", "The audit trail: every ingest run and what it read."),
    "errors": ("status", "errors", "The bad records of a run, with file, line and reason."),
    "doctor": ("status", "doctor", "Check the store's integrity and the sources' health."),
    "sample": ("sample", "sample", "Write a realistic sample ~/.claude folder to try things on."),
}
# `memory ingest schedule`: a sub-command of a command that also takes a PATH argument.
SUBCOMMANDS = {("ingest", "schedule"): ("capture", "ingest_schedule")}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"{__package__}.{module}"), attr)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        sub = SUBCOMMANDS.get((args[0], args[1])) if len(args) > 1 else None
        if sub:
            command = getattr(importlib.import_module(f"{__package__}.{sub[0]}"), sub[1])
            command.name = f"{args[0]} {args[1]}"
            return command.name, command, args[2:]
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="memory")
def cli() -> None:
    """coditect-memory: everything Claude Code leaves on disk, captured, kept and searchable.

    The store lives in $MEMORY_HOME (default: your user data dir); the Claude folder read is
    $CLAUDE_CONFIG_DIR or ~/.claude. Originals are only ever opened read-only.

    \b
    Start with:
      memory ingest            capture ~/.claude
      memory status            what is in the store
      memory sessions          recent sessions
      memory show session ID   replay one
    """


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except MemoryError_ as e:
        click.echo(f"memory: error: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("memory: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("memory: interrupted; what was stored so far is kept: run the same command "
                   "again to finish", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as e:  # the last resort: a disk's refusal no layer below translated
        command = " ".join(["memory", *(a for a in sys.argv[1:3] if a.isalpha())])
        mine = io_error(e, command)
        if mine is None:
            raise
        click.echo(f"memory: error: {mine}", err=True)
        sys.exit(mine.exit_code)
