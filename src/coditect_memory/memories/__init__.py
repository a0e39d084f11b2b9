"""Memories: typed records drawn from the archive by rules (extract), kept alive by use and
faded by time (lifecycle)."""
