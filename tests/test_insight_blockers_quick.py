"""The quick blocker reading (issue 18) gives the groups the first, plain one gave.

The report reads a big show's 100,000 comments, so :func:`groups` takes shortcuts: one
search for any amount, budget or body, emoji looked for only outside ASCII, short and
known words and numbers never sent through the typo cache. Each must change nothing:
here it meets the reading as first written (``tests/support/blockers_reference.py``) on
the labelled comments and on shopping-like chat made of cue words, trouble words,
numbers, prices, emoji, apostrophes and separators.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from console.domain.insight.blockers import CUES, NEGATORS, TROUBLE, groups
from tests.support import blockers_reference

DATA = Path(__file__).parent / "data"

_LABELLED = [
    line.split("\t")[0]
    for name in ("blockers.tsv", "blockers_holdout.tsv")
    for line in (DATA / name).read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#") and line != "text\tgroups"
]
_PHRASES = sorted({phrase for kinds in CUES.values() for cues in kinds.values() for phrase in cues})
_PIECES = [
    *_PHRASES,
    *sorted(TROUBLE | NEGATORS),
    *[
        "do",
        "you",
        "is",
        "it",
        "the",
        "my",
        "can",
        "i",
        "pls",
        "how",
        "much",
        "what",
        "size",
        "love",
        "it",
        "so",
        "cute",
    ],
    *[
        "shiping",
        "paymnet",
        "expencive",
        "stoock",
        "sizzing",
        "delivry",
        "refnud",
        "shopping",
        "custom",
    ],
    *[
        "$40",
        "40$",
        "€12,50",
        "£90",
        "¥500",
        "30%",
        "10 for 2",
        "40 max",
        "max 30",
        "max $30",
        "if it was 30",
        "if they were 25",
        "5'4",
        "5\u20194",
        "130lbs",
        "60 kg",
        "12 cm",
        "20 bucks",
        "10",
        "2",
    ],
    *[
        "#1234",
        "size",
        "10",
        "2xl",
        "xl",
        "3",
        "can't",
        "don't",
        "isn't",
        "it's",
        "“ok”",
        "@anna",
        "https://x.co",
        "x.com",
    ],
    *["😭", "🙄", "💸", "😬", "☹", "❤️", "🔥", "é", "Größe", "ñ"],
]
_GLUE = st.sampled_from([" ", " ", " ", ", ", ". ", "? ", "! ", "; ", "… ", " and ", " but ", "'"])


@st.composite
def _chat(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12))
    text = words[0]
    for word in words[1:]:
        text += draw(_GLUE) + word
    return text + draw(st.sampled_from(["", "?", "!", "??", ".", " lol", " 😭"]))


def test_the_labelled_comments_read_as_before() -> None:
    for text in _LABELLED:
        assert groups(text) == blockers_reference.groups(text), text


def test_the_labelled_comments_numbered_as_the_benchmark_writes_them_read_as_before() -> None:
    for index, text in enumerate(_LABELLED):
        for numbered in (f"{text} #{index}", f"{text} #{index} is it in stock?"):
            assert groups(numbered) == blockers_reference.groups(numbered), numbered


@given(_chat())
def test_shopping_chat_reads_as_before(text: str) -> None:
    assert groups(text) == blockers_reference.groups(text)


@given(st.text(alphabet=st.sampled_from("ab1 $%'\u2019.,?!😭💸kgmaxifor"), max_size=40))
def test_any_text_reads_as_before(text: str) -> None:
    assert groups(text) == blockers_reference.groups(text)


def test_each_piece_alone_and_in_a_short_comment_reads_as_before() -> None:
    """Every piece once, so no shortcut waits for the random draw to meet its case."""
    for piece in _PIECES:
        for text in (piece, f"{piece}?", f"i would pay {piece}", f"shipping {piece} 😭"):
            assert groups(text) == blockers_reference.groups(text), text
