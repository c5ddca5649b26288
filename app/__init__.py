"""Backroom: offline-first back office for small online sellers."""

__version__ = "0.1.0"
