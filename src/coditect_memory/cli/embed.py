"""`memory embed` (once, or --watch in the background): parse, open the store, call the
action (actions/search.py's `embed`, actions/embed.py's `watch`), render."""

from __future__ import annotations

import click

from ..search.embedder import MODELS
from .output import console, get_config, json_option, print_json
from .search import _bar, _run


@click.command()
@click.option("--limit", type=int, default=None, help="Stop after this many messages (resume later).")
@click.option("--model", type=click.Choice(list(MODELS)), default=None,
              help="Embed with this model (default: [search] model, else the model search uses; "
                   "a new store: all-MiniLM-L6-v2-int8). Search keeps the store's current vectors "
                   "until this model's have caught up, then switches to it.")
@click.option("--watch", is_flag=True,
              help="Keep running: embed new messages every --interval seconds, on a CPU budget, "
                   "until Ctrl-C or SIGTERM (a stop loses nothing: it resumes where it stopped).")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
              help="With --watch: CPU threads the model uses.")
@click.option("--nice", type=click.IntRange(0, 19), default=10, show_default=True,
              help="With --watch: lower the process's priority by this much.")
@click.option("--duty", type=click.FloatRange(0.05, 1.0), default=0.5, show_default=True,
              help="With --watch: share of the time spent embedding while there is work (it rests the rest).")
@click.option("--interval", type=click.FloatRange(0.1, 3600.0), default=10.0, show_default=True,
              help="With --watch: seconds between looks for new messages.")
@json_option
def embed(limit: int | None, model: str | None, watch: bool, threads: int, nice: int, duty: float,
          interval: float, as_json: bool) -> None:
    """Embed prompts, answers and summaries for semantic and hybrid search (all-MiniLM-L6-v2,
    offline, on ONNX Runtime; int8 weights for a new store). Incremental: resumes where it
    stopped; only new messages are embedded after that, also after each `memory ingest`. With
    --watch it keeps running in the background and prints a summary when stopped. A store
    embedded with float32 moves to int8 with `--model all-MiniLM-L6-v2-int8` (or --watch with
    it): search uses the float32 vectors until the int8 ones have caught up."""
    from ..search.embedder import DEFAULT_MODEL, require

    require(model or DEFAULT_MODEL)  # before the store: no model is the first thing to say
    if watch:
        if limit is not None:
            raise click.UsageError("--limit and --watch do not go together")
        _watch(model or "", threads, nice, duty, interval, as_json)
        return
    from ..actions.search import EmbedRequest, EmbedSummary
    from ..actions.search import embed as action

    res: EmbedSummary = _run(action, EmbedRequest(limit=limit, model=model or ""),
                             _bar("embedding", "messages", as_json))
    if as_json:
        print_json(res.to_json())
        return
    console().print(f"{res.embedded:,} messages embedded with {res.model} in {res.seconds:.1f} s "
                    f"({res.vectors:,} in all"
                    + (f", {res.pending:,} still to do: run `memory embed` again" if res.pending else "")
                    + ")")
    if res.search_model != res.model:
        console().print(f"search still uses the {res.search_model} vectors until {res.model} has "
                        f"caught up (`memory embed --model {res.model}` again)")


def _watch(model: str, threads: int, nice: int, duty: float, interval: float, as_json: bool) -> None:
    import signal
    import threading
    import time

    from ..actions.embed import WatchRequest
    from ..actions.embed import watch as action
    from ..search.vectors import EmbedResult
    from ..store import open_store

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    c = console(stderr=True)
    bar = _bar("embedding", "messages", as_json)

    def show(res: EmbedResult) -> None:
        if bar:
            bar.close()
            bar.p = None  # the next round starts a new bar
        if not as_json:
            c.print(f"{time.strftime('%H:%M:%S')} {res.embedded:,} messages embedded in {res.seconds:.1f} s")

    if not as_json:
        c.print("embedding new messages in the background (Ctrl-C to stop)")
    request = WatchRequest(model=model, threads=threads, nice=nice, duty=duty, interval=interval)
    settings = get_config()
    try:
        with open_store(settings, create=False) as store:
            res = action(store, settings, request, stop, progress=bar, on_round=show)
    finally:
        if bar:
            bar.close()
    if as_json:
        print_json(res.to_json())
        return
    c.print(f"stopped: {res.embedded:,} messages embedded ({res.vectors:,} in all"
            + (f", {res.pending:,} still to do" if res.pending else "") + ")")
