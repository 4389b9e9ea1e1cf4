"""How counts read in sentences shown to people (status bars, docks, reports, ctl)."""

from __future__ import annotations


def counted(number: int, noun: str) -> str:
    """ "1 order", "2 orders": a count and its noun, read as a sentence (and aloud by
    screen readers). Regular English plurals only: the nouns are ours, not users'."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
