"""The viewer page and the team: modes, standing, held and deleted comments, answers.

Debian's Chromium against the real ``python -m console hub`` subprocess; every viewer is
a separate Chromium profile and the host (or an agent it invites) speaks the protocol
over a plain WebSocket, as a staff console would.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page, expect
from websockets.sync.client import ClientConnection, connect

from tests.support.browser import Chromium, HubProcess, chromium, requires_chromium, running_hub
from tests.test_viewer_page import Staff, expect_connected, join, post

pytestmark = [pytest.mark.browser, requires_chromium]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
WAIT = 10_000


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    with running_hub(tmp_path / "hub-data") as running:
        yield running


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with chromium(tmp_path / "profiles") as opened:
        yield opened


class Team(Staff):
    """A staff session that sends commands and waits for the hub's answer."""

    def __init__(self, ws: ClientConnection, token: str, role: str = "host") -> None:
        super().__init__(ws, SimpleNamespace(token=token), role)  # type: ignore[arg-type]

    def ask(self, message: dict) -> dict:
        ref = uuid.uuid4().hex
        self.ws.send(json.dumps({**message, "ref": ref}))
        return self.next_message(lambda m: m.get("ref") == ref)

    def do(self, message: dict) -> dict:
        reply = self.ask(message)
        assert reply["t"] != "error", f"{message['t']} was refused: {reply}"
        return reply


@contextmanager
def team_session(hub: HubProcess, token: str, role: str = "host") -> Iterator[Team]:
    with connect(hub.ws_url, max_size=None) as ws:
        yield Team(ws, token, role)


@pytest.fixture
def host(hub: HubProcess) -> Iterator[Team]:
    with team_session(hub, hub.token) as session:
        yield session


@contextmanager
def agent_session(hub: HubProcess, host: Team, name: str = "Sam") -> Iterator[Team]:
    invite = host.do({"t": "invite", "name": name, "role": "agent", "hours": 1})
    with team_session(hub, invite["token"], "agent") as session:
        yield session


def viewer(browsers: Chromium, hub: HubProcess, name: str, viewport=None) -> Page:
    page = browsers.page(hub.url, viewport=viewport)
    expect_connected(page)
    join(page, name)
    return page


def viewer_id(page: Page) -> str:
    return page.evaluate("localStorage.getItem('shopcast.viewer_id')")


def chat_item(page: Page, text: str):
    return page.get_by_test_id("chat-item").filter(has_text=text)


def seq_of(page: Page, text: str) -> int:
    item = chat_item(page, text)
    expect(item).to_have_count(1, timeout=WAIT)
    return int(item.get_attribute("data-seq"))


def countdown_seconds(page: Page) -> int:
    text = page.get_by_test_id("slow-countdown").inner_text()
    match = re.fullmatch(r"Wait (\d+) s", text.strip())
    assert match, f"the countdown reads {text!r}"
    return int(match.group(1))


# ---------------------------------------------------------------- held comments


def test_a_held_comment_is_seen_by_its_author_only_until_it_is_approved(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    host.do({"t": "set_terms", "terms": [{"pattern": "scam", "action": "hold"}]})
    ann = viewer(browsers, hub, "Ann")
    bob = viewer(browsers, hub, "Bob")

    post(ann, "is this a scam or legit")
    held = ann.get_by_test_id("held-comment")
    expect(held).to_have_count(1, timeout=WAIT)
    expect(held).to_contain_text("is this a scam or legit")
    expect(held).to_contain_text("Held for review")
    expect(chat_item(ann, "scam")).to_have_count(0)  # not published: only the placeholder
    event = host.next_message(lambda m: m["t"] == "held")

    # A comment after the held one reaches Bob; the held one never did.
    host.comment("Welcome everyone")
    expect(chat_item(bob, "Welcome everyone")).to_have_count(1, timeout=WAIT)
    expect(bob.get_by_test_id("held-comment")).to_have_count(0)
    expect(bob.get_by_text("is this a scam or legit")).to_have_count(0)

    host.do({"t": "resolve_held", "held_id": event["held_id"], "approve": True})
    for page in (ann, bob):
        published = page.locator("[data-testid=chat-item][data-seq]").filter(
            has_text="is this a scam or legit"
        )
        expect(published).to_have_count(1, timeout=WAIT)
    expect(ann.get_by_test_id("held-comment")).to_have_count(0)
    expect(bob.get_by_test_id("held-comment")).to_have_count(0)


def test_a_denied_comment_says_not_published_and_survives_a_reload(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    host.do({"t": "set_terms", "terms": [{"pattern": "scam", "action": "hold"}]})
    ann = viewer(browsers, hub, "Ann")
    post(ann, "total scam <b>lol</b>")
    expect(ann.get_by_test_id("held-comment")).to_have_count(1, timeout=WAIT)
    event = host.next_message(lambda m: m["t"] == "held")
    host.do({"t": "resolve_held", "held_id": event["held_id"], "approve": False})
    held = ann.get_by_test_id("held-comment")
    expect(held).to_contain_text("Not published", timeout=WAIT)
    ann.reload()
    expect_connected(ann)
    expect(held).to_have_count(1, timeout=WAIT)
    expect(held).to_contain_text("Not published")
    expect(held).to_contain_text("total scam <b>lol</b>")  # text, never HTML
    assert ann.locator("#chat-list b").count() == 0


# ---------------------------------------------------------------- modes


def test_slow_mode_shows_the_mode_and_counts_down_on_the_send_button(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    ann = viewer(browsers, hub, "Ann")
    host.do({"t": "set_modes", "slow_seconds": 30})
    mode = ann.get_by_test_id("chat-mode")
    expect(mode).to_have_text("Slow mode: one comment every 30 s", timeout=WAIT)

    post(ann, "first!")
    countdown = ann.get_by_test_id("slow-countdown")
    send = ann.get_by_test_id("comment-send")
    expect(countdown).to_be_visible(timeout=WAIT)
    ann.get_by_test_id("comment-input").fill("second")
    expect(send).to_be_disabled()
    first = countdown_seconds(ann)
    assert 1 <= first <= 30
    time.sleep(1.6)
    later = countdown_seconds(ann)
    assert 1 <= later < first, f"the countdown did not go down: {first} then {later}"
    expect(send).to_be_disabled()

    # After a reload the page has forgotten; the hub's slow_mode refusal restarts it.
    ann.reload()
    expect_connected(ann)
    expect(mode).to_have_text("Slow mode: one comment every 30 s")
    ann.get_by_test_id("comment-input").fill("second")
    ann.get_by_test_id("comment-input").press("Enter")
    expect(countdown).to_be_visible(timeout=WAIT)
    assert 1 <= countdown_seconds(ann) <= 30
    expect(send).to_be_disabled()

    host.do({"t": "set_modes", "slow_seconds": 0})
    expect(countdown).to_be_hidden(timeout=WAIT)
    expect(send).to_be_enabled()


def test_paused_chat_disables_the_input_and_other_modes_are_listed(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    ann = viewer(browsers, hub, "Ann")
    mode = ann.get_by_test_id("chat-mode")
    host.do({"t": "set_modes", "paused": True})
    expect(mode).to_have_text("Chat is paused by the moderators", timeout=WAIT)
    expect(mode).to_have_attribute("role", "status")
    expect(ann.get_by_test_id("comment-input")).to_be_disabled()
    host.do({"t": "set_modes", "buyers_only": True, "emoji_only": True})
    expect(mode).to_contain_text("Only buyers can chat right now", timeout=WAIT)
    expect(mode).to_contain_text("Emoji only")
    expect(ann.get_by_test_id("comment-input")).to_be_enabled()
    # A viewer who opens the page later hears the modes at join.
    late = browsers.page(hub.url)
    expect(late.get_by_test_id("chat-mode")).to_contain_text("Emoji only", timeout=WAIT)


# ---------------------------------------------------------------- standing


def test_a_banned_viewer_cannot_chat_even_after_a_reload(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    ann = viewer(browsers, hub, "Ann")
    post(ann, "hello")
    host.do({"t": "ban", "viewer_id": viewer_id(ann), "reason": "Spam links"})
    standing = ann.get_by_test_id("standing")
    expect(standing).to_contain_text("You can't chat in this room", timeout=WAIT)
    expect(standing).to_contain_text("Spam links")
    expect(standing).to_have_attribute("role", "status")
    expect(ann.get_by_test_id("comment-input")).to_be_disabled()
    expect(ann.get_by_test_id("comment-send")).to_be_disabled()

    ann.reload()
    expect_connected(ann)
    expect(standing).to_contain_text("You can't chat in this room", timeout=WAIT)
    expect(ann.get_by_test_id("comment-input")).to_be_disabled()

    host.do({"t": "unban", "viewer_id": viewer_id(ann)})
    expect(standing).to_have_text("", timeout=WAIT)
    expect(ann.get_by_test_id("comment-input")).to_be_enabled()


def test_a_timed_out_viewer_sees_when_they_can_chat_again(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    bob = viewer(browsers, hub, "Bob")
    post(bob, "hi")
    host.do({"t": "timeout", "viewer_id": viewer_id(bob), "seconds": 600, "reason": "Calm down"})
    standing = bob.get_by_test_id("standing")
    expect(standing).to_contain_text(
        re.compile(r"You can chat again in (10:00|9:[0-5]\d)"), timeout=WAIT
    )
    expect(standing).to_contain_text("Calm down")
    expect(bob.get_by_test_id("comment-input")).to_be_disabled()
    bob.reload()
    expect_connected(bob)
    expect(standing).to_contain_text(re.compile(r"You can chat again in 9:[0-5]\d"), timeout=WAIT)
    expect(bob.get_by_test_id("comment-input")).to_be_disabled()


# ---------------------------------------------------------------- deleted comments


def test_a_deleted_comment_disappears_from_another_viewers_page(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    ann = viewer(browsers, hub, "Ann")
    bob = viewer(browsers, hub, "Bob")
    post(ann, "this one gets removed")
    post(ann, "love the colour")
    expect(chat_item(bob, "gets removed")).to_have_count(1, timeout=WAIT)
    host.do({"t": "delete", "seq": seq_of(bob, "gets removed"), "reason": "spam"})
    expect(chat_item(bob, "gets removed")).to_have_count(0, timeout=WAIT)
    expect(chat_item(ann, "gets removed")).to_have_count(0, timeout=WAIT)
    expect(chat_item(bob, "love the colour")).to_have_count(1)
    # A viewer who joins later does not see it either (the replayed delete removes it).
    late = browsers.page(hub.url)
    expect(chat_item(late, "love the colour")).to_have_count(1, timeout=WAIT)
    expect(chat_item(late, "gets removed")).to_have_count(0)


# ---------------------------------------------------------------- answers


def test_answers_thread_under_questions_and_private_ones_reach_only_the_asker(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    ann = viewer(browsers, hub, "Ann")
    bob = viewer(browsers, hub, "Bob")
    post(ann, "Does it ship to Spain?")
    post(ann, "What is my order status?")
    post(ann, "Love this colour")
    public_q = seq_of(bob, "Does it ship to Spain?")
    private_q = seq_of(ann, "What is my order status?")
    praise = seq_of(ann, "Love this colour")
    with agent_session(hub, host) as sam:
        sam.do({"t": "answer", "question": public_q, "text": "Yes, in 3 days <i>free</i>."})
        sam.do(
            {
                "t": "answer",
                "question": private_q,
                "text": "It left today.",
                "private": True,
            }
        )
        # Not a question: staff may still answer it, under it, for Ann alone.
        sam.do(
            {"t": "answer", "question": praise, "text": "Glad you like it, Ann", "private": True}
        )

    for page in (ann, bob):
        answer = page.locator(f"li[data-seq='{public_q}'] [data-testid=answer]")
        expect(answer).to_have_count(1, timeout=WAIT)
        expect(answer).to_contain_text("Sam")
        expect(answer).to_contain_text("Team")
        expect(answer).to_contain_text("Yes, in 3 days <i>free</i>.")
        assert page.locator("#chat-list i").count() == 0

    private = ann.locator(f"li[data-seq='{private_q}'] [data-testid=answer]")
    expect(private).to_have_count(1, timeout=WAIT)
    expect(private).to_contain_text("It left today.")
    expect(private).to_contain_text("Only you can see this")
    thanks = ann.locator(f"li[data-seq='{praise}'] [data-testid=answer]")
    expect(thanks).to_contain_text("Glad you like it, Ann", timeout=WAIT)
    host.comment("next up: the blue one")
    expect(chat_item(bob, "next up")).to_have_count(1, timeout=WAIT)
    expect(bob.get_by_test_id("answer")).to_have_count(1)
    expect(bob.get_by_text("It left today.")).to_have_count(0)
    expect(bob.get_by_text("Glad you like it, Ann")).to_have_count(0)
    if folder := os.environ.get("SHOPCAST_SCREENSHOT_DIR"):
        ann.screenshot(path=Path(folder) / "viewer-private-answers.png")

    # After a reload the replay threads them again, the private one for Ann alone.
    ann.reload()
    expect_connected(ann)
    expect(ann.get_by_test_id("answer")).to_have_count(3, timeout=WAIT)


def test_an_answer_to_a_question_out_of_the_history_quotes_it(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    ann = viewer(browsers, hub, "Ann")
    post(ann, "Is the strap leather?")
    question = seq_of(ann, "Is the strap leather?")
    for n in range(55):  # the question leaves the 50 events a newcomer gets
        host.comment(f"filler {n}")
    with agent_session(hub, host) as sam:
        sam.do({"t": "answer", "question": question, "text": "Full-grain leather."})
    late = browsers.page(hub.url)
    answer = late.get_by_test_id("answer")
    expect(answer).to_have_count(1, timeout=WAIT)
    item = late.locator("li.answer-item")
    expect(item).to_contain_text("Ann asked")
    expect(item).to_contain_text("Is the strap leather?")
    expect(item).to_contain_text("Full-grain leather.")


# ---------------------------------------------------------------- screenshots


def test_screenshots_of_modes_a_held_comment_and_an_answer(
    hub: HubProcess, browsers: Chromium, host: Team, tmp_path: Path
) -> None:
    """``SHOPCAST_SCREENSHOT_DIR=docs`` refreshes docs/viewer-moderation-*.png."""
    folder = Path(os.environ.get("SHOPCAST_SCREENSHOT_DIR") or tmp_path)
    host.do({"t": "set_terms", "terms": [{"pattern": "scam", "action": "hold"}]})
    host.comment("Welcome! Ask me anything about the linen shirt.")
    bob = viewer(browsers, hub, "Bob")
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        host.do({"t": "set_modes", "slow_seconds": 0})
        page = viewer(browsers, hub, f"Ann {name}", viewport)
        post(bob, f"Does the {name} size run small?")
        question = seq_of(page, f"Does the {name} size run small?")
        with agent_session(hub, host, "Sam") as sam:
            sam.do(
                {
                    "t": "answer",
                    "question": question,
                    "text": "It runs true to size; take your usual one.",
                }
            )
        host.do({"t": "set_modes", "slow_seconds": 30})
        expect(page.get_by_test_id("chat-mode")).to_contain_text("Slow mode", timeout=WAIT)
        post(page, "Is this a scam price?")
        expect(page.get_by_test_id("held-comment")).to_have_count(1, timeout=WAIT)
        host.do({"t": "set_modes", "slow_seconds": 30, "buyers_only": True})
        expect(page.get_by_test_id("chat-mode")).to_contain_text("Only buyers", timeout=WAIT)
        expect(page.get_by_test_id("slow-countdown")).to_be_visible()
        page.get_by_test_id("comment-input").fill("What colours does it come in?")
        answer = page.locator(f"li[data-seq='{question}'] [data-testid=answer]")
        expect(answer).to_have_count(1, timeout=WAIT)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page scrolls sideways ({width} px)"
        page.screenshot(path=folder / f"viewer-moderation-{name}.png", animations="disabled")
