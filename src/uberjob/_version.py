"""The package's version: its one home (pyproject.toml reads it from here at build time)."""

__version__ = "2.0.0.dev0"
