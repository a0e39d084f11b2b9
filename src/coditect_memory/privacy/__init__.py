"""Privacy: secrets masked before anything is stored, PII redacted by privacy level on the
way out, GDPR forget (tombstones), and a hash-chained audit log.

- `detect`: the rules (rules.toml + the user's [[privacy.rules]]) and the scanner;
- `mask`: the per-store fingerprint key and the masks (`sk-ant-…#3f9a2c`);
- `capture`: what ingest calls on every record before it is written;
- `levels`: PUBLIC / TEAM / PRIVATE / EPHEMERAL and `redact_for(level, audience, text)`;
- `audit`: `record(...)` and `verify(...)` of the append-only log.
"""
