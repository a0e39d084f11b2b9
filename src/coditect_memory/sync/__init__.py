"""Sync between local stores and a central server (issue 17)."""
