"""compactor: find renamed-but-similar agent lanes in a docs repo and fold them into one record."""

__version__ = "0.1.0"
