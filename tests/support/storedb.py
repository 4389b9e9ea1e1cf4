"""What the store's tables hold, read through the store's own Database adapter.

A test that checks what was forgotten or kept reads rows here instead of opening the
SQLite file: the same SQL (``?`` placeholders) runs on either engine the store is open on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console.store import Store


def rows(store: Store, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Every row of a query on the store's own connection (it sees its own writes)."""
    return [tuple(row) for row in store.db.execute(sql, params).fetchall()]


def value(store: Store, sql: str, *params: object) -> Any:
    """The single value a query returns (a COUNT, one column of one row)."""
    [(found,)] = rows(store, sql, *params)
    return found


def change(store: Store, sql: str, *params: object) -> None:
    """Write what an older version or a failing disk would have left, in one transaction."""
    with store.db.transaction() as db:
        db.execute(sql, params)


class Engine:
    """One test's database on one engine: ``open()`` opens (and reopens) the same store."""

    def __init__(self, name: str, data_dir: Path, url: str | None) -> None:
        self.name = name
        self.data_dir = data_dir
        self.url = url

    def open(self) -> Store:
        return Store.open(self.data_dir, database=self.url)
