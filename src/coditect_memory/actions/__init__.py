"""Use cases: one function per user action, the one place each door calls.

The CLI (cli/), and later the REST API, Claude Code hooks and the MCP server, only parse
their input, call one of these and render what it returns. A function here takes typed
inputs (the Settings, a Store where it reads or writes one, a small request dataclass) and
returns a typed result (a dataclass with `to_json()` giving the documented `--json` shape).
It never prints and never exits; progress goes to an optional callback; user mistakes are
`errors.MemoryError_` subclasses.

| module | actions |
|---|---|
| ingest | ingest (the pipeline, then the search index and embeddings catch up) |
| browse | status, sessions, show session, runs, run errors, doctor |
| search | search, embed, index |
| reports | each report, timeline |
| backup | create, list, verify, restore, prune, schedule |
| transfer | export, import |
"""
