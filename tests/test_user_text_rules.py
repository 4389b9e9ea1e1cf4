"""One judge for everything viewers write: comments, reviews, display names, and the
name on a sale's public line; and no text can turn the direction of other viewers' pages.

The table below is the promise of ``docs/moderation.md``: each rule, each kind of text,
and what the viewer gets. It is written out cell by cell, not derived from the code's
own table, so a rule that stops applying to a kind fails here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.catalogue import parse_catalogue
from console.domain.chat import BIDI_CONTROLS, clean_comment, clean_name, strip_bidi
from console.domain.moderation import (
    Author,
    BlockedTerm,
    ChatPolicy,
    RoomModes,
    TextKind,
    clean_reason,
)
from console.domain.shopify_csv import parse_shopify_csv

KINDS: tuple[TextKind, ...] = ("comment", "review", "name", "buyer_name")


@dataclass(frozen=True)
class Case:
    """A policy, an author and a text that one rule objects to, when it applies."""

    author: Author
    text: str
    policy: Callable[[], ChatPolicy]
    #: Comments the author posted before (at t=0, 1, ...); the text is judged at t=5.
    before: tuple[str, ...] = ()


VIEWER = Author("v-1")
CASES: dict[str, Case] = {
    "banned": Case(Author("v-1", banned=True), "Ann", ChatPolicy),
    "timeout": Case(Author("v-1", muted_until=60.0), "Ann", ChatPolicy),
    "paused": Case(VIEWER, "Ann", lambda: ChatPolicy(modes=RoomModes(paused=True))),
    "buyers_only": Case(VIEWER, "Ann", lambda: ChatPolicy(modes=RoomModes(buyers_only=True))),
    "slow": Case(VIEWER, "Ann", lambda: ChatPolicy(modes=RoomModes(slow_seconds=30)), ("hi",)),
    "emoji_only": Case(VIEWER, "Ann", lambda: ChatPolicy(modes=RoomModes(emoji_only=True))),
    "hold term (leetspeak)": Case(
        VIEWER, "Sp4mw0rd fan", lambda: ChatPolicy(terms=[BlockedTerm("spamword")])
    ),
    "delete term": Case(
        VIEWER, "spamword fan", lambda: ChatPolicy(terms=[BlockedTerm("spamword", action="delete")])
    ),
    "link": Case(VIEWER, "spamword at spam.example", ChatPolicy),
    "repeat": Case(VIEWER, "Ann", lambda: ChatPolicy(repeat_limit=1), ("Ann",)),
    "flood": Case(VIEWER, "Ann", lambda: ChatPolicy(flood_limit=2), ("one", "two")),
    "new_chatter": Case(VIEWER, "Ann", lambda: ChatPolicy(modes=RoomModes(hold_new_minutes=10))),
}

PUBLISH = ("publish", "")
#: rule -> (comment, review, name, buyer_name): the action and the rule that decided.
EXPECTED: dict[str, tuple[tuple[str, str], ...]] = {
    "banned": (("refuse", "banned"), ("refuse", "banned"), PUBLISH, ("refuse", "banned")),
    "timeout": (("refuse", "timeout"), ("refuse", "timeout"), PUBLISH, ("refuse", "timeout")),
    "paused": (("refuse", "paused"), PUBLISH, PUBLISH, PUBLISH),
    "buyers_only": (("refuse", "buyers_only"), PUBLISH, PUBLISH, PUBLISH),
    "slow": (("refuse", "slow"), PUBLISH, PUBLISH, PUBLISH),
    "emoji_only": (("refuse", "emoji_only"), PUBLISH, PUBLISH, PUBLISH),
    "hold term (leetspeak)": (
        ("hold", "term"),
        ("hold", "term"),
        ("refuse", "term"),
        ("refuse", "term"),
    ),
    "delete term": (("refuse", "term"), ("refuse", "term"), ("refuse", "term"), ("refuse", "term")),
    "link": (("hold", "link"), ("hold", "link"), ("refuse", "link"), ("refuse", "link")),
    "repeat": (("refuse", "repeat"), PUBLISH, PUBLISH, PUBLISH),
    "flood": (("refuse", "flood"), PUBLISH, PUBLISH, PUBLISH),
    "new_chatter": (("hold", "new_chatter"), PUBLISH, PUBLISH, PUBLISH),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rule", list(CASES))
def test_every_rule_judges_every_kind_of_viewer_text_as_the_table_says(
    rule: str, kind: TextKind
) -> None:
    case = CASES[rule]
    policy = case.policy()
    for at, earlier in enumerate(case.before):
        assert policy.judge(VIEWER, earlier, float(at)).action == "publish"
    verdict = policy.judge(case.author, case.text, 5.0, kind)
    assert (verdict.action, verdict.rule) == EXPECTED[rule][KINDS.index(kind)]
    if verdict.action != "publish":
        assert verdict.reason, "the author is told why"


def test_the_table_covers_every_rule_of_the_policy() -> None:
    decided = {EXPECTED[rule][0][1] for rule in CASES}
    assert decided == {
        "banned",
        "timeout",
        "paused",
        "buyers_only",
        "slow",
        "emoji_only",
        "term",
        "link",
        "repeat",
        "flood",
        "new_chatter",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_staff_text_of_every_kind_is_never_judged(kind: TextKind) -> None:
    policy = ChatPolicy(terms=[BlockedTerm("spamword")])
    staff = Author("staff-1", is_staff=True, banned=True)
    assert policy.judge(staff, "spamword at spam.example", 0, kind).action == "publish"


def test_a_review_or_a_name_is_not_a_chat_post() -> None:
    """Only comments count for slow mode, repeats and floods."""
    policy = ChatPolicy(modes=RoomModes(slow_seconds=30), repeat_limit=1)
    for kind in ("review", "name", "buyer_name"):
        assert policy.judge(VIEWER, "Ann", 0, kind).action == "publish"
    assert policy.judge(VIEWER, "Ann", 1).action == "publish", "no wait, no repeat"


def test_a_name_is_refused_with_a_sentence_that_asks_for_another() -> None:
    policy = ChatPolicy(terms=[BlockedTerm("spamword")])
    assert "choose another" in policy.judge(VIEWER, "spamword", 0, "name").reason
    assert "choose another" in policy.judge(VIEWER, "me at spam.example", 0, "name").reason
    review = policy.judge(Author("v-1", banned=True), "great", 0, "review")
    assert review.reason == "You can't post a review in this room."


def test_the_link_switch_lets_links_through_in_every_kind() -> None:
    policy = ChatPolicy(block_links=False)
    for kind in KINDS:
        assert policy.judge(VIEWER, "see spam.example", 0, kind).action == "publish", kind


# --- direction controls -----------------------------------------------------------------

BIDI = sorted(BIDI_CONTROLS)


def test_every_direction_control_is_the_issue_s_list() -> None:
    expected = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}
    assert expected | {"\u200e", "\u200f", "\u061c"} == BIDI_CONTROLS


def test_a_right_to_left_override_cannot_flip_a_name_or_a_comment() -> None:
    assert clean_name("\u202eMallory") == "Mallory"
    assert clean_comment("hi \u2067there\u2069 \u202dx") == "hi there x"
    assert clean_comment("sp\u202eam") == "spam", "dropped, not replaced by a space"


_with_bidi = st.lists(st.one_of(st.sampled_from(BIDI), st.text(max_size=8)), max_size=20).map(
    "".join
)


def _clean_product_text(text: str) -> list[str]:
    """A product's title and description, and a catalogue review, after each importer."""
    data = {
        "version": 1,
        "products": [
            {
                "id": "tee",
                "title": "Tee " + text,
                "description": text,
                "vendor": text,
                "image": None,
                "currency": "EUR",
                "options": ["Size"],
                "variants": [{"sku": "T-M", "options": {"Size": "M"}, "price": 100, "stock": 1}],
                "reviews": [
                    {
                        "id": "r-1",
                        "author": "Ann " + text,
                        "rating": 5,
                        "text": "Nice " + text,
                        "verified_owner": True,
                        "created": "2026-01-01",
                    }
                ],
            }
        ],
    }
    [product] = parse_catalogue(data)
    csv_text = text.replace('"', "").replace("\r", "")
    shopify = parse_shopify_csv(
        "Handle,Title,Body (HTML),Vendor,Option1 Name,Option1 Value,Variant SKU,"
        "Variant Price,Variant Inventory Qty\n"
        f'tee,"Tee {csv_text}","<p>{csv_text}</p>","{csv_text}",Size,"M{csv_text}",T-M,1.00,1\n',
        "EUR",
    )
    assert len(shopify.products) == 1, shopify.errors
    texts = [product.title, product.description, product.vendor]
    texts += [product.reviews[0].author, product.reviews[0].text]
    for found in shopify.products:
        texts += [found.title, found.description, found.vendor]
        texts += [value for variant in found.variants for _, value in variant.options]
    return texts


@given(_with_bidi)
def test_no_direction_control_survives_in_any_kind_of_user_text(text: str) -> None:
    cleaned: list[str] = [strip_bidi(text), clean_reason(text)]
    for clean in (clean_comment, clean_name):  # comments and reviews; names
        with contextlib.suppress(ValueError):  # empty or too long: nothing is shown
            cleaned.append(clean(text))
    cleaned += _clean_product_text(text)
    for shown in cleaned:
        assert not BIDI_CONTROLS & set(shown), repr(shown)


def test_product_text_from_either_importer_loses_its_direction_controls() -> None:
    texts = _clean_product_text("\u202eRelaxed Linen Shirt \u2066&#x202e;x")
    assert texts and all(not BIDI_CONTROLS & set(t) for t in texts), texts
    assert texts[0] == "Tee Relaxed Linen Shirt &#x202e;x"


def test_a_blocked_term_split_by_direction_controls_is_still_caught() -> None:
    policy = ChatPolicy(terms=[BlockedTerm("spamword")])
    assert policy.judge(VIEWER, "sp\u202eamw\u2066ord", 0, "name").rule == "term"
