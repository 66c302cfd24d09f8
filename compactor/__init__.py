"""compactor: find renamed-but-similar agent lanes in a docs repo and fold them into one record."""

__version__ = "0.1.0"
# The shape of every JSON output (scan, scan --explain, check, report): its "schema_version".
# Raise it when a key is removed or changes meaning; adding a key keeps it.
SCHEMA_VERSION = 1
