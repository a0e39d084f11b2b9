"""Generated sample data: a realistic ~/.claude folder and the truth about what it holds."""

from .generator import generate

__all__ = ["generate"]
