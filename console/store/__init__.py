"""Persistence: SQLite by default (one file, WAL)."""

from console.store.sqlite import DB_FILE_NAME, StaffToken, Store

__all__ = ["DB_FILE_NAME", "StaffToken", "Store"]
