"""Ingest: scan a root, read what is new, dedup, write batches, record the run."""
