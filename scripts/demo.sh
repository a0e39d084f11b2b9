#!/usr/bin/env bash
# make demo: ingest ~/.claude when asked (CLAUDE=1), else a generated sample; then show what
# the product does. The demo's store lives in .demo/home so yours is never touched.
set -euo pipefail
BIN=$1; HOME_DIR=$2; DATA=$3; USE_CLAUDE=${4:-}
export MEMORY_HOME="$HOME_DIR"
M="$BIN/memory"
if [ -n "$USE_CLAUDE" ]; then
  ROOT="${CLAUDE_CONFIG_DIR:-$HOME/.claude}"
  echo "== ingesting your Claude folder $ROOT (read-only) into $MEMORY_HOME"
else
  ROOT="$DATA"
  if [ ! -d "$ROOT" ]; then
    echo "== generating a realistic sample Claude folder in $ROOT"
    "$M" sample "$ROOT" --sessions 120
  fi
  echo "== ingesting $ROOT into $MEMORY_HOME (use 'make demo CLAUDE=1' for your own ~/.claude)"
fi
"$M" ingest "$ROOT"
echo; echo "== a second run reads only what changed"
"$M" ingest "$ROOT"
echo; echo "== memory status"
"$M" status
echo; echo "== memory sessions --limit 8"
"$M" sessions --limit 8
SID=$("$M" sessions --limit 1 --json | "$BIN/python" -c 'import json,sys; r=json.load(sys.stdin); print(r[0]["session_id"] if r else "")')
if [ -n "$SID" ]; then
  echo; echo "== memory show session ${SID:0:8} (first 40 lines)"
  "$M" show session "$SID" | head -40 || true
fi
echo; echo "== memory search 'migration error' --limit 5"
"$M" search "migration error" --limit 5 || true
echo; echo "== memory report project-activity"
"$M" report project-activity || true
echo; echo "== memory timeline (the last day with activity)"
"$M" timeline | head -30 || true
echo; echo "== memory context --project coditect-memory --budget 800 (what a new Claude Code session is given)"
"$M" context --project coditect-memory --budget 800 | cut -c1-160 | head -24 || true
echo; echo "== memory privacy scan (secrets were masked at capture; this lists what was found)"
"$M" privacy scan 2>/dev/null | head -8 || true
BACKUPS="$(dirname "$MEMORY_HOME")/backups"
echo; echo "== memory backup create --target $BACKUPS (the first is full, later ones store only what changed)"
"$M" backup create --target "$BACKUPS"
"$M" backup create --target "$BACKUPS"
LAST=$("$M" backup list --target "$BACKUPS" --json | "$BIN/python" -c 'import json,sys; print(json.load(sys.stdin)[-1]["backup_id"])')
echo; echo "== memory backup verify $LAST --deep (re-hash every object, test-restore, compare)"
"$M" backup verify "$LAST" --target "$BACKUPS" --deep
REPORT="$(dirname "$MEMORY_HOME")/activity.html"
"$M" report timeline --format html --out "$REPORT" >/dev/null && echo && echo "== an HTML report with charts: $REPORT"
cat <<TXT

== try next (MEMORY_HOME=$MEMORY_HOME)
  $M search 'alembic' --facets      full-text search with filters and facets
  $M tui                            search as you type, preview, open the session, resume it
  $M search 'tool:Bash ENOENT'      inline filters: project: tool: level: after:
  $M report usage --by model        tokens and cost (also: component-usage, error-analysis, ...)
  $M timeline 2026-02-10            what was I doing that day?
  $M show session ID --json         a session as JSON, with provenance per message
  $M runs / $M errors               the audit trail and the bad records, with file and line
  $M backup create --target DIR     a verified, restorable backup
  $M doctor                         integrity check of the store
  $M watch                          capture ~/.claude as it changes (or: $M ingest schedule)
  $M hooks install                  give each new Claude Code session its context pack
  $M serve                          the REST API and web UI on http://127.0.0.1:8787/
                                    (make a token first: $M auth token --name me --scope read)
  $M sync init --server URL --token T   share with a team's server (then: $M sync run)
TXT
