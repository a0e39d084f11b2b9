"""`memory site --out DIR`: a thin door onto site/."""

from __future__ import annotations

from pathlib import Path

import click

from .output import get_config, json_option, open_readonly, print_json, working


@click.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="The folder to write (created if missing; re-runs update it).")
@click.option("--project", "-p", help="Only this project (path or name).")
@json_option
def site(out: Path, project: str | None, as_json: bool) -> None:
    """Write a browsable static archive: projects → sessions → conversations, a search box
    over titles and first prompts, dark mode. Open DIR/index.html in a browser. Re-runs
    rewrite only the pages whose sessions changed.

    \b
    memory site --out ~/claude-archive
    memory site --out site --project my-app --json
    """
    from ..site import SiteRequest, build_site

    config = get_config()
    with open_readonly() as store, working("writing the archive…"):
        result = build_site(store, config, SiteRequest(out, project))
    if as_json:
        print_json(result.to_json())
        return
    click.echo(f"{result.sessions:,} sessions in {result.projects:,} projects: wrote "
               f"{result.written:,} files, {result.unchanged:,} session pages unchanged; "
               f"open {out / 'index.html'}")
