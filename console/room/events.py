"""Picking the events a replica folds out of the room's stored events.

Most of a show's events are comments, which no replica folds: each is told apart by its
first bytes, its tag, which msgspec writes first (``{"t":"show"``), without decoding it.
The closing quote keeps a tag from matching a longer one that starts alike (``giveaway``
and ``giveaway_entry``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import msgspec

E = TypeVar("E", bound=msgspec.Struct)


def event_reader(*kinds: type[E]) -> Callable[[bytes], E | None]:
    """A reader of stored event bodies: the event decoded if it is of one of ``kinds``,
    else None."""
    readers = [
        (
            f'{{"{kind.__struct_config__.tag_field}":"{kind.__struct_config__.tag}"'.encode(),
            msgspec.json.Decoder(kind).decode,
        )
        for kind in kinds
    ]

    def read(body: bytes) -> E | None:
        for prefix, decode in readers:
            if body.startswith(prefix):
                return decode(body)
        return None

    return read
