"""What the shop keeps about a viewer, for whom, for how long and why: the retention table.

One table, as data, read by everything that writes or shows a viewer's data:

- the Privacy panel shows it to viewers (the hub sends it with their consent state, so
  the page never carries a copy of its own);
- the store asks it before it writes (:func:`recorded`): data the table says is not
  recorded for a viewer's consent is never written, so no read path (the staff panel,
  the export, a replay, a CSV) can show it, whatever a widget does;
- the store asks it what to forget when a show ends (:func:`forgotten`), and signs what
  stays with :func:`signed_off`, the same way a deletion at the viewer's request does;
- the staff panel's read model asks it before it reads (:func:`recorded` again).

Without "Remember me" (``session``, or ``unknown``: not chosen yet, which counts as no)
nothing about the viewer survives the show except what the law or the room's safety
needs: an order's delivery data for :data:`DELIVERY_DAYS`, the order's amounts for the
books, and moderation records. "Anonymised" means exactly this: after the show their
comments, questions and reviews stay in the show's public record signed
:data:`~console.domain.profile.DELETED_NAME`, with no viewer id; after
:data:`DELIVERY_DAYS` their orders hold no name, email, address, saved card or viewer id.

Pure: no I/O; :mod:`console.store.profiles` applies the decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from console.domain.profile import DELETED_NAME, Consent, remembers

#: What the table is about, one kind per row.
Kind = Literal[
    "name", "chat", "reviews", "browsing", "devices", "notes", "delivery", "books",
    "moderation", "choice",
]  # fmt: skip

#: How long a kind is kept.
Keep = Literal["never", "show", "consent", "delivery", "books", "deleted"]

#: An order's name, email, delivery address and saved card are kept this long after the
#: order, for every viewer: delivery (a week or two), the 14-day right of withdrawal
#: that starts at delivery, and the returns and "where is my parcel?" questions that
#: follow. Not configurable yet: a shop that needs longer changes this constant.
DELIVERY_DAYS: Final = 90
DELIVERY_SECONDS: Final = DELIVERY_DAYS * 24 * 3600

#: Off air (before the first show, or after one ended), what a viewer without consent
#: leaves is kept this long (seconds), then forgotten as at the end of a show; the next
#: go-live forgets it sooner. An hour covers the chat that goes on after a show.
OFF_AIR_SECONDS: Final = 60 * 60

#: How often (seconds) the hub applies the time limits above; a limit is applied at
#: most this late. Each sweep is a few indexed queries.
SWEEP_SECONDS: Final = 60.0

#: Events that stay on the viewer id when a show ends without consent: the room's
#: moderation records (a ban must outlive the show). A deletion takes the id from them too.
MODERATION_EVENTS: Final = frozenset({"mod", "held", "held_resolved"})


@dataclass(frozen=True, slots=True)
class Rule:
    """One row: what, how long with and without consent, what is left after, and why."""

    kind: Kind
    what: str
    remember: Keep
    without: Keep
    why: str
    #: What becomes of it once the time is up ("" when it is simply removed).
    remember_then: str = ""
    without_then: str = ""


SIGNED_OFF: Final = f"then the text stays in the show's chat, signed “{DELETED_NAME}”"

RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "name",
        "Your display name, and when you were first and last here",
        "consent",
        "show",
        "It signs your comments; the team sees who is in the chat.",
    ),
    Rule(
        "chat",
        "Your comments and questions, and the team's answers to them",
        "consent",
        "show",
        "The chat is the show's public record: other viewers' replies refer to it.",
        remember_then=SIGNED_OFF,
        without_then=SIGNED_OFF,
    ),
    Rule(
        "reviews",
        "Your reviews of products you bought",
        "consent",
        "show",
        "Owners' reviews help other buyers.",
        remember_then=f"then the review stays on the product, signed “{DELETED_NAME}”",
        without_then=f"then the review stays on the product, signed “{DELETED_NAME}”",
    ),
    Rule(
        "browsing",
        "How long you watched, the products shown while you watched, checkouts you "
        "opened and did not finish",
        "consent",
        "never",
        "So the team can help a regular better; without your consent nobody needs it.",
    ),
    Rule(
        "devices",
        "The link between your devices made by your checkout email (a fingerprint of "
        "the address, never the address)",
        "consent",
        "never",
        "So the team sees one customer, not two strangers.",
    ),
    Rule(
        "notes",
        "The team's notes and tags about you, and which of the team opened your profile",
        "consent",
        "show",
        "The team works on your questions together; the host sees who looked.",
        without_then="then the log of who opened a profile keeps the look, without you",
    ),
    Rule(
        "delivery",
        "An order's name, email, delivery address and saved card (and, without "
        "“Remember me”, which page placed it: your owner badge)",
        "delivery",
        "delivery",
        "To deliver, to answer “where is my parcel?”, and for withdrawals and returns.",
        remember_then="then removed; the order itself stays (next row)",
        without_then="then removed; the order itself stays (next row)",
    ),
    Rule(
        "books",
        "An order's products, amounts, country and date, without name, email or address",
        "books",
        "books",
        "Bookkeeping and tax law require the shop's record of its sales.",
    ),
    Rule(
        "moderation",
        "Bans, time-outs, held comments and the team's moderation log",
        "deleted",
        "deleted",
        "A ban must outlive the show, or leaving would lift it; the log records what "
        "the team did and why.",
        remember_then="a ban stays on your page's id even then",
        without_then=f"your name in them becomes “{DELETED_NAME}” when the show ends; a "
        "ban stays on your page's id even after you delete your data",
    ),
    Rule(
        "choice",
        "Your answer to “Can the shop remember you?”, and your page's key (a fingerprint of it)",
        "deleted",
        "deleted",
        "So the shop keeps to your choice, and only your page can read or delete your data.",
    ),
)

KEEP_WORDS: Final[Mapping[Keep, str]] = {
    "never": "Not recorded",
    "show": "Until the show ends (off air: for an hour)",
    "consent": "Until you delete your data or choose “Only this show”",
    "delivery": f"{DELIVERY_DAYS} days after the order",
    "books": "As long as bookkeeping law requires (up to 10 years in much of the EU); "
    "Shopcast never removes them itself",
    "deleted": "Until you delete your data",
}

_BY_KIND: Final[Mapping[Kind, Rule]] = {rule.kind: rule for rule in RULES}


@dataclass(frozen=True, slots=True)
class Row:
    """A row of the table as viewers read it on the Privacy panel."""

    what: str
    remember: str
    without: str
    why: str


def keep(kind: Kind, consent: Consent) -> Keep:
    """How long ``kind`` is kept for a viewer who gave ``consent``."""
    rule = _BY_KIND[kind]
    return rule.remember if remembers(consent) else rule.without


def recorded(kind: Kind, consent: Consent) -> bool:
    """Whether the store may write ``kind`` at all for this viewer now."""
    return keep(kind, consent) != "never"


def forgotten(consent: Consent) -> tuple[Kind, ...]:
    """The kinds the store forgets when a show ends (or consent is withdrawn)."""
    return tuple(rule.kind for rule in RULES if keep(rule.kind, consent) in ("never", "show"))


def delivery_expired(created: float, now: float) -> bool:
    """Whether an order placed at ``created`` is past its delivery period at ``now``."""
    return now - created >= DELIVERY_SECONDS


def table() -> tuple[Row, ...]:
    """The whole table in words, in display order."""

    def words(keep: Keep, then: str) -> str:
        return f"{KEEP_WORDS[keep]}; {then}." if then else f"{KEEP_WORDS[keep]}."

    return tuple(
        Row(
            rule.what,
            words(rule.remember, rule.remember_then),
            words(rule.without, rule.without_then),
            rule.why,
        )
        for rule in RULES
    )


def signed_off(kind: str, event: dict[str, Any], *, deleted: bool) -> dict[str, Any]:
    """A stored event of a viewer the shop no longer names, as replays will send it.

    Signed :data:`DELETED_NAME`, without the owner badge (nobody is left for it to vouch
    for) and without the viewer id; moderation records keep the id when the viewer was
    only forgotten at the end of a show, so a ban holds. The text stays: it is the
    show's public record. Returns a new dict; ``event`` is not changed.
    """
    signed = dict(event)
    signed.pop("owner", None)
    if "name" in signed:
        signed["name"] = DELETED_NAME
    if "viewer_id" in signed and (deleted or kind not in MODERATION_EVENTS):
        signed["viewer_id"] = ""
    if kind == "review" and isinstance(signed.get("review"), dict):
        signed["review"] = {**signed["review"], "author": DELETED_NAME}
    return signed


def keeps_viewer_id(kind: str, *, deleted: bool) -> bool:
    """Whether a signed-off event still belongs to the viewer id (see :func:`signed_off`)."""
    return not deleted and kind in MODERATION_EVENTS
