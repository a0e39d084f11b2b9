"""Sync between a machine's local store and a team's central server (`memory sync`).

client.py talks to the server's /api/v1/sync/ routes; batches.py turns rows into the wire
format (the `memory export` JSON Lines, zstd-compressed) and back; actions/sync.py holds the
use cases. docs/sync.md describes the whole."""
