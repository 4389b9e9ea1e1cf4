"""Persistence: SQLite by default (one file, WAL); callers type against :mod:`console.store.api`."""

from console.store.sqlite import DB_FILE_NAME, StaffToken, Store

__all__ = ["DB_FILE_NAME", "StaffToken", "Store"]
