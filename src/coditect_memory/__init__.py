"""coditect-memory: capture, keep and search everything Claude Code leaves on disk."""

__version__ = "0.1.0"
