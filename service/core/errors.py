"""Errors every layer may raise and the HTTP layer maps to a status (service/api/errors.py)."""

from __future__ import annotations


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached (HTTP 503)."""
