"""The team through a real hub: invitations, the permission table, moderation, questions.

Every test runs the hub on 127.0.0.1 over a real SQLite file with real WebSocket
clients. The hub's clock is a :class:`FakeClock` the test moves, so time-outs, slow
mode and claim expiry are exact; the room's housekeeping timer still runs in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from console import protocol
from console.hub.auth import new_token
from console.hub.permissions import PERMISSIONS
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.test_shop_hub import CATALOGUE, FakeClock, answer, ctl, query, wait_until

#: Generous posting limits: these tests are about moderation, not the flood limiter (the
#: permissions matrix sends a viewer's every message at once, past the usual burst).
LIMITS = Limits(viewer_comments_per_s=100, viewer_comment_burst=100, viewer_message_burst=200)


@dataclass
class Team:
    hub: Hub
    clock: FakeClock
    data_dir: Path
    host: RawClient
    token: str

    @property
    def url(self) -> str:
        return self.hub.local_ws_url

    async def staff(self, role: str, name: str) -> RawClient:
        token = self.hub.issue_token(role, name)  # type: ignore[arg-type]
        return await RawClient.staff(self.url, token, role)

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return query(self.data_dir, sql, *params)

    def last_seq(self) -> int:
        return self.hub.store.last_seq


async def ask(client: RawClient, message: dict[str, Any]) -> dict[str, Any]:
    """Send with a fresh ref and return the hub's answer (reply or error)."""
    ref = "r-" + secrets.token_hex(4)
    await client.send({**message, "ref": ref})
    return await answer(client, ref)


async def ok(client: RawClient, message: dict[str, Any]) -> dict[str, Any]:
    reply = await ask(client, message)
    assert reply["t"] != "error", reply
    return reply


async def comment(client: RawClient, text: str) -> dict[str, Any]:
    return await ask(client, {"t": "comment", "text": text})


@pytest.fixture
async def team(data_dir: Path) -> AsyncIterator[Team]:
    async with running_team(data_dir) as running:
        yield running


@contextlib.asynccontextmanager
async def running_team(data_dir: Path) -> AsyncIterator[Team]:
    """A hub with the test catalogue, a fake clock and a host connected."""
    clock = FakeClock()
    store = Store.open(data_dir)
    store.replace_catalogue(CATALOGUE)
    hub = Hub(store, tick=0.01, limits=LIMITS, clock=clock)
    await hub.start("127.0.0.1", 0)
    token = hub.issue_token("host", "Mia")
    host = await RawClient.staff(hub.local_ws_url, token)
    try:
        yield Team(hub, clock, data_dir, host, token)
    finally:
        await host.close()
        await hub.stop()
        store.close()


# ---------------------------------------------------------------- the permission table

#: One valid-looking example of every client message (Hello aside).
EXAMPLES: dict[type, dict[str, Any]] = {
    protocol.SendComment: {"t": "comment", "text": "hello there"},
    protocol.SetName: {"t": "set_name", "name": "Newname"},
    protocol.GetProfile: {"t": "profile", "viewer_id": "matrix-viewer-1"},
    protocol.GetCatalogue: {"t": "catalogue"},
    protocol.WebRTCOffer: {"t": "webrtc_offer", "sdp": "v=0"},
    protocol.Watch: {"t": "watch"},
    protocol.WatchAnswer: {"t": "watch_answer", "sdp": "v=0"},
    protocol.PlayoutReport: {"t": "playout", "delay_ms": 120},
    protocol.Pin: {"t": "pin", "product": "logo-tee"},
    protocol.Unpin: {"t": "unpin"},
    protocol.SetShelf: {"t": "set_shelf", "products": ["canvas-bag"]},
    protocol.StartDeal: {"t": "start_deal", "price": 999, "seconds": 60, "product": "logo-tee"},
    protocol.EndDeal: {"t": "end_deal"},
    protocol.Feature: {"t": "feature"},
    protocol.GetQuote: {"t": "quote", "sku": "TEE-M"},
    protocol.Buy: {
        "t": "buy",
        "key": "matrix-key-1",
        "sku": "TEE-M",
        "quantity": 1,
        "buyer": {},
        "payment": "4242424242424242",
    },
    protocol.SubmitReview: {"t": "review", "product_id": "logo-tee", "rating": 5, "text": "ok"},
    protocol.UpdateVariant: {"t": "update_variant", "sku": "TEE-M", "stock": 4},
    protocol.ImportCatalogue: {"t": "import", "format": "json", "data": "{}"},
    protocol.GetOrders: {"t": "orders"},
    protocol.CreateInvite: {"t": "invite", "name": "Sam", "role": "agent"},
    protocol.GetStaff: {"t": "staff"},
    protocol.RevokeStaff: {"t": "revoke", "staff_id": "0000000000000000"},
    protocol.ReplaceHostToken: {"t": "replace_host_token"},
    protocol.DeleteComment: {"t": "delete", "seq": 1},
    protocol.TimeoutViewer: {"t": "timeout", "viewer_id": "matrix-viewer-1", "seconds": 60},
    protocol.BanViewer: {"t": "ban", "viewer_id": "matrix-viewer-1"},
    protocol.UnbanViewer: {"t": "unban", "viewer_id": "matrix-viewer-1"},
    protocol.SetModes: {"t": "set_modes", "slow_seconds": 0},
    protocol.SetTerms: {"t": "set_terms", "terms": []},
    protocol.GetTerms: {"t": "terms"},
    protocol.ResolveHeld: {"t": "resolve_held", "held_id": 999, "approve": False},
    protocol.GetModLog: {"t": "mod_log"},
    protocol.ClaimQuestion: {"t": "claim", "question": 999},
    protocol.ReleaseQuestion: {"t": "release", "question": 999},
    protocol.AnswerQuestion: {"t": "answer", "question": 999, "text": "Yes"},
    protocol.FinishQuestion: {"t": "question_done", "question": 999},
    protocol.GetQuestions: {"t": "questions"},
    protocol.GetSuggestions: {"t": "suggest", "question": 999},
    protocol.SetCanned: {"t": "set_canned", "replies": []},
    protocol.SetClaims: {"t": "set_claims", "on": False},
    protocol.StartAuction: {
        "t": "start_auction",
        "start_price": 1000,
        "increment": 100,
        "seconds": 60,
    },
    protocol.CancelAuction: {"t": "cancel_auction"},
    protocol.PlaceBid: {"t": "bid", "auction_id": "A-1", "maximum": 1000},
    protocol.StartGiveaway: {"t": "start_giveaway", "prize": "A tee", "seconds": 60},
    protocol.DrawGiveaway: {"t": "draw_giveaway"},
    protocol.CancelGiveaway: {"t": "cancel_giveaway"},
    protocol.EnterGiveaway: {"t": "enter_giveaway", "giveaway_id": "G-1"},
    protocol.ClockRequest: {"t": "clock"},
    protocol.Browse: {"t": "browse", "product_id": "p1"},
    protocol.JoinWaitlist: {"t": "join_waitlist", "sku": "S1"},
    protocol.LeaveWaitlist: {"t": "leave_waitlist", "sku": "S1"},
    protocol.ReleaseClaim: {"t": "release_claim", "claim_id": "C-1"},
    protocol.CheckoutClosed: {"t": "checkout_closed", "product_id": "p1"},
    protocol.SetConsent: {"t": "consent", "consent": "session"},
    protocol.ExportData: {"t": "export", "viewer_id": "matrix-viewer-1"},
    protocol.AddNote: {"t": "add_note", "viewer_id": "matrix-viewer-1", "text": "Prefers M"},
    protocol.SetTag: {"t": "tag", "viewer_id": "matrix-viewer-1", "tag": "VIP"},
    protocol.Unlink: {"t": "unlink", "viewer_id": "matrix-viewer-1"},
    protocol.GetViewers: {"t": "who"},
    protocol.GetViewLog: {"t": "view_log"},
    # Last: a permitted deletion forgets the viewer the other examples are about.
    protocol.DeleteData: {"t": "delete_me", "viewer_id": "matrix-viewer-1"},
}


def test_every_client_message_has_a_row_in_the_table_and_an_example() -> None:
    kinds = set(typing.get_args(protocol.ClientMessage))
    assert kinds == set(PERMISSIONS)
    assert kinds - {protocol.Hello} == set(EXAMPLES)


@pytest.mark.parametrize("role", protocol.ROLES)
async def test_each_role_may_send_what_the_table_allows_and_nothing_else(
    team: Team, role: str
) -> None:
    if role == "viewer":
        client = await RawClient.viewer(team.url, "Matrix", viewer_id="matrix-viewer-1")
    else:
        client = await team.staff(role, f"Matrix {role}")
    refused: list[str] = []
    for kind, example in EXAMPLES.items():
        before = team.last_seq()
        mod_log = team.query("SELECT COUNT(*) FROM mod_actions")
        reply = await ask(client, example)
        # The table's refusal; a permitted command may still be refused by a rule of its
        # own (a review from someone who did not buy), also with ``forbidden``.
        forbidden = reply["t"] == "error" and "may not send" in reply["message"]
        assert forbidden == (role not in PERMISSIONS[kind]), (role, example, reply)
        if forbidden:
            refused.append(example["t"])
            assert team.last_seq() == before, f"a refused {example['t']} stored an event"
            assert team.query("SELECT COUNT(*) FROM mod_actions") == mod_log
            assert reply["code"] == "forbidden" and "only" in reply["message"]
    assert ("pin" in refused) == (role != "host")
    await client.close()


# ---------------------------------------------------------------- invitations and access


async def test_the_host_invites_sees_who_is_connected_and_revokes_at_once(team: Team) -> None:
    invite = await ok(team.host, {"t": "invite", "name": "Sam", "role": "moderator", "hours": 2})
    assert invite["role"] == "moderator" and len(invite["token"]) >= 32
    assert invite["expires"] == pytest.approx(team.clock.now + 7200)
    stored = team.query("SELECT token_hash FROM staff_tokens WHERE name = 'Sam'")
    assert stored and invite["token"] not in stored[0][0], "only the hash is stored"

    sam = await RawClient.staff(team.url, invite["token"], "moderator")
    listing = await wait_until(
        team.host,
        lambda m: (
            m["t"] == "staff"
            and any(s["name"] == "Sam" and s.get("connected") == 1 for s in m["members"])
        ),
    )
    assert {s["role"] for s in listing["members"]} >= {"host", "moderator"}

    await ok(team.host, {"t": "revoke", "staff_id": invite["staff_id"]})
    await asyncio.wait_for(sam._reader, 1.0)  # closed within a second
    assert any(m["t"] == "error" and m["code"] == "bad_token" for m in sam.messages)
    again = await _refused_hello(team.url, invite["token"], "moderator")
    assert "revoked" in again["message"]


async def _refused_hello(url: str, token: str, role: str) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    async with connect(url) as ws:
        await ws.send(protocol.encode(protocol.Hello(v=1, role=role, token=token)).decode())  # type: ignore[arg-type]
        import json

        [error] = json.loads(await ws.recv())
        return error


async def test_an_expired_token_is_refused_and_its_open_session_ends(team: Team) -> None:
    invite = await ok(team.host, {"t": "invite", "name": "Kim", "role": "agent", "hours": 1})
    kim = await RawClient.staff(team.url, invite["token"], "agent")
    team.clock.advance(3601)
    await asyncio.wait_for(kim._reader, 2.5)  # the room checks once a second
    refused = await _refused_hello(team.url, invite["token"], "agent")
    assert refused["code"] == "bad_token" and "expired" in refused["message"]


def test_no_token_starts_with_a_dash_so_the_command_line_takes_it_as_a_value() -> None:
    """One in 64 URL-safe tokens began with "-", which ``--token TOKEN`` reads as an option."""
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert not [token for token in tokens if token.startswith("-")]


async def test_an_invitation_needs_a_name_and_a_sane_lifetime(team: Team) -> None:
    for bad in (
        {"name": " ", "hours": 1},
        {"name": "Sam", "hours": 0},
        {"name": "Sam", "hours": 1e9},
    ):
        reply = await ask(team.host, {"t": "invite", "role": "agent", **bad})
        assert reply["code"] == "invalid", reply
    assert team.query("SELECT COUNT(*) FROM staff_tokens") == [(1,)]


# ---------------------------------------------------------------- moderation


async def test_a_ban_sticks_to_the_viewer_across_reloads_and_names(team: Team) -> None:
    mod = await team.staff("moderator", "Sam")
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-01")
    bob = await RawClient.viewer(team.url, "Bob")
    sent = await comment(ann, "buy my stuff elsewhere")
    await ok(mod, {"t": "ban", "viewer_id": "ann-viewer-01", "reason": "spam"})

    [standing] = await ann.wait_for("standing")
    assert standing["banned"] is True and standing["reason"] == "spam"
    [entry] = await team.host.wait_for("mod", action="ban")
    assert entry["actor"] == "Sam" and entry["viewer_id"] == "ann-viewer-01"
    refused = await comment(ann, "hello?")
    assert refused["code"] == "banned"

    await ann.close()
    again = await RawClient.viewer(team.url, "Totally New Name", viewer_id="ann-viewer-01")
    assert any(m["t"] == "standing" and m["banned"] for m in again.messages), "told on join"
    assert (await comment(again, "it's me again"))["code"] == "banned"
    assert (await comment(bob, "still here"))["t"] == "ack"

    await ok(mod, {"t": "delete", "seq": sent["seq"], "reason": "spam"})
    [deleted] = await bob.wait_for("delete")
    assert deleted["target"] == sent["seq"]
    [logged] = await mod.wait_for("mod", action="delete")
    assert logged["text"] == "buy my stuff elsewhere", "the mod log keeps the text"

    await ok(mod, {"t": "unban", "viewer_id": "ann-viewer-01"})
    assert (await comment(again, "sorry"))["t"] == "ack"
    await asyncio.gather(mod.close(), again.close(), bob.close())


async def test_a_time_out_ends_by_the_hubs_clock(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-02")
    await comment(ann, "first")
    await ok(team.host, {"t": "timeout", "viewer_id": "ann-viewer-02", "seconds": 600})
    refused = await comment(ann, "second")
    assert refused["code"] == "timed_out" and refused["retry_after"] == pytest.approx(600)
    team.clock.advance(601)
    assert (await comment(ann, "third"))["t"] == "ack"
    bad = await ask(team.host, {"t": "timeout", "viewer_id": "ann-viewer-02", "seconds": -5})
    assert bad["code"] == "invalid"
    await ann.close()


async def test_slow_mode_tells_the_viewer_how_long_to_wait(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann")
    await ok(team.host, {"t": "set_modes", "slow_seconds": 30})
    modes = await wait_until(ann, lambda m: m["t"] == "modes" and m.get("slow_seconds") == 30)
    assert modes["seq"] > 0
    assert (await comment(ann, "one"))["t"] == "ack"
    team.clock.advance(10)
    refused = await comment(ann, "two")
    assert refused["code"] == "slow_mode" and refused["retry_after"] == pytest.approx(20)
    team.clock.advance(20)
    assert (await comment(ann, "three"))["t"] == "ack"
    staff_comment = await comment(team.host, "staff are not slowed")
    assert staff_comment["t"] == "ack"
    bad = await ask(team.host, {"t": "set_modes", "slow_seconds": 99999})
    assert bad["code"] == "invalid"
    await ann.close()


async def test_a_held_comment_is_seen_by_its_author_and_staff_only(team: Team) -> None:
    await ok(
        team.host,
        {
            "t": "set_terms",
            "terms": [
                {"pattern": "scam", "action": "hold"},
                {"pattern": "idiot", "action": "delete"},
            ],
        },
    )
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-03")
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-viewer-03")
    mod = await team.staff("moderator", "Sam")
    reply = await comment(ann, "is this a SC4M?")
    assert reply["t"] == "ack" and reply["held"] is True and "seq" not in reply
    [held] = await ann.wait_for("held")
    [seen] = await mod.wait_for("held")
    assert held["held_id"] == seen["held_id"] and held["text"] == "is this a SC4M?"

    refused = await comment(ann, "you idiot")
    assert refused["code"] == "blocked"
    await mod.wait_for("mod", action="auto_delete")

    await ok(mod, {"t": "resolve_held", "held_id": held["held_id"], "approve": True})
    [published] = await bob.wait_for("comment", text="is this a SC4M?")
    [resolved] = await ann.wait_for("held_resolved")
    assert resolved["approved"] and resolved["comment_seq"] == published["seq"]
    again = await ask(
        team.host, {"t": "resolve_held", "held_id": held["held_id"], "approve": False}
    )
    assert again["code"] == "conflict"
    await asyncio.sleep(0.05)
    assert not bob.of_type("held") and not bob.of_type("held_resolved"), "bob never sees it"
    assert not bob.of_type("mod"), "viewers never see the mod log"

    later = await RawClient.viewer(team.url, "Cat", viewer_id="cat-viewer-03", since=0)
    assert not later.of_type("held") and not later.of_type("mod"), "nor does a replay"
    author = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-03", since=0)
    assert author.of_type("held"), "the author's own replay has it"
    await asyncio.gather(ann.close(), bob.close(), mod.close(), later.close(), author.close())


async def test_a_bad_term_changes_nothing_and_says_which(team: Team) -> None:
    await ok(team.host, {"t": "set_terms", "terms": [{"pattern": "scam"}]})
    reply = await ask(
        team.host,
        {
            "t": "set_terms",
            "terms": [{"pattern": "fine"}, {"pattern": "(unclosed", "kind": "regex"}],
        },
    )
    assert reply["code"] == "invalid" and "(unclosed" in reply["message"]
    terms = await ok(team.host, {"t": "terms"})
    assert [t["pattern"] for t in terms["terms"]] == ["scam"]


async def test_the_mod_log_is_stored_filterable_and_survives_a_restart(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-04")
    await RawClient.viewer(team.url, "Bob", viewer_id="bob-viewer-04")
    await ok(
        team.host, {"t": "timeout", "viewer_id": "ann-viewer-04", "seconds": 60, "reason": "caps"}
    )
    await ok(team.host, {"t": "ban", "viewer_id": "bob-viewer-04", "reason": "spam"})
    log = await ok(team.host, {"t": "mod_log"})
    assert [e["action"] for e in log["entries"]] == ["ban", "timeout"], "newest first"
    only = await ok(team.host, {"t": "mod_log", "viewer_id": "ann-viewer-04"})
    assert [e["reason"] for e in only["entries"]] == ["caps"]
    assert team.query("SELECT action, actor, reason FROM mod_actions ORDER BY id") == [
        ("timeout", "Mia", "caps"),
        ("ban", "Mia", "spam"),
    ]
    await ann.close()


async def test_a_staff_console_that_reconnects_replays_the_mod_events(team: Team) -> None:
    mod = await team.staff("moderator", "Sam")
    seen = mod.of_type("welcome")[0]["seq"]
    await mod.close()
    await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-05")
    await ok(team.host, {"t": "ban", "viewer_id": "ann-viewer-05"})
    token = team.hub.issue_token("moderator", "Sam again")
    back = RawClient(await _connect(team.url))
    await back.send({"t": "hello", "v": 1, "role": "moderator", "token": token, "since": seen})
    [entry] = await back.wait_for("mod")
    assert entry["action"] == "ban"
    await back.close()


async def _connect(url: str):
    from websockets.asyncio.client import connect

    return await connect(url, compression=None)


# ---------------------------------------------------------------- questions


async def test_two_agents_cannot_claim_the_same_question(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-06")
    sam = await team.staff("agent", "Sam")
    kim = await team.staff("agent", "Kim")
    asked = await comment(ann, "does it come in blue?")
    [question] = await sam.wait_for("question")
    assert question["id"] == asked["seq"] and question["group"] == "colour"
    await comment(ann, "love the show!")  # not a question
    await ok(sam, {"t": "claim", "question": question["id"]})
    conflict = await ask(kim, {"t": "claim", "question": question["id"]})
    assert conflict["code"] == "conflict" and "Sam" in conflict["message"]

    team.clock.advance(121)  # Sam's claim lapses after two minutes without an answer
    await ok(kim, {"t": "claim", "question": question["id"]})
    await wait_until(sam, lambda m: m["t"] == "question" and m.get("claimed_by") == "Kim")
    snapshot = await ok(sam, {"t": "questions"})
    assert [q["id"] for q in snapshot["questions"]] == [question["id"]]
    await asyncio.gather(ann.close(), sam.close(), kim.close())


async def test_a_private_answer_reaches_only_the_asker_and_a_public_one_everyone(
    team: Team,
) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-07")
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-viewer-07")
    sam = await team.staff("agent", "Sam")
    first = await comment(ann, "how long does shipping to Canada take?")
    second = await comment(bob, "is it waterproof?")
    await sam.wait_for("question", count=2)

    await ok(
        sam, {"t": "answer", "question": first["seq"], "text": "About a week.", "private": True}
    )
    [private] = await ann.wait_for("answer")
    assert private["private"] and private["text"] == "About a week." and private["agent"] == "Sam"
    await ok(sam, {"t": "answer", "question": second["seq"], "text": "Yes, fully."})
    [public] = await ann.wait_for("answer", question=second["seq"])
    assert public["question_text"] == "is it waterproof?"
    await bob.wait_for("answer", question=second["seq"])
    assert [a["question"] for a in bob.of_type("answer")] == [second["seq"]], "bob never sees ann's"

    await ok(sam, {"t": "question_done", "question": first["seq"]})
    snapshot = await ok(sam, {"t": "questions"})
    assert [q["id"] for q in snapshot["questions"]] == [second["seq"]]
    assert snapshot["stats"]["median_first_answer"] is not None
    await asyncio.gather(ann.close(), bob.close(), sam.close())


async def test_staff_answer_any_comment_privately_without_it_joining_the_queue(
    team: Team,
) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-08")
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-viewer-08")
    sam = await team.staff("agent", "Sam")
    await ann.send({"t": "consent", "consent": "remember"})
    praise = await comment(ann, "love the colour of this one")
    staff_line = await comment(sam, "welcome everyone")

    await ok(sam, {"t": "answer", "question": praise["seq"], "text": "Thanks!", "private": True})
    [private] = await ann.wait_for("answer")
    assert private["private"] and private["question_text"] == "love the colour of this one"
    snapshot = await ok(sam, {"t": "questions"})
    assert snapshot["questions"] == [], "a reply is not a question waiting for an agent"
    profile = await ok(sam, {"t": "profile", "viewer_id": "ann-viewer-08"})
    [thread] = profile["questions"]
    assert thread["text"] == "love the colour of this one"
    assert [a["text"] for a in thread["answers"]] == ["Thanks!"]

    for target in (staff_line["seq"], 999_999):
        error = await ask(sam, {"t": "answer", "question": target, "text": "?"})
        assert error["t"] == "error" and error["code"] == "not_found", error
    await ok(team.host, {"t": "delete", "seq": praise["seq"]})
    error = await ask(sam, {"t": "answer", "question": praise["seq"], "text": "again"})
    assert error["code"] == "not_found" and "deleted" in error["message"]
    assert not bob.of_type("answer"), "nobody else sees a private answer"
    await asyncio.gather(ann.close(), bob.close(), sam.close())


async def test_similar_questions_are_grouped(team: Team) -> None:
    viewers = [await RawClient.viewer(team.url, f"V{n}") for n in range(3)]
    for viewer, text in zip(
        viewers,
        ("what size should I get?", "does it run small?", "is it true to size?"),
        strict=True,
    ):
        await comment(viewer, text)
    await comment(viewers[0], "do you ship to Norway?")
    snapshot = await ok(team.host, {"t": "questions"})
    labels = {g["key"]: g["label"] for g in snapshot["groups"]}
    assert "3 viewers asked about sizing" in labels["sizing"]
    assert snapshot["stats"]["length"] == 4 and snapshot["stats"]["unanswered"] == 4
    await asyncio.gather(*(v.close() for v in viewers))


async def test_suggestions_come_from_the_pinned_product_and_canned_replies_fill_in(
    team: Team,
) -> None:
    await ok(team.host, {"t": "pin", "product": "logo-tee"})
    ann = await RawClient.viewer(team.url, "Ann")
    asked = await comment(ann, "is it true to size?")
    await team.host.wait_for("question")
    await ok(
        team.host,
        {
            "t": "set_canned",
            "replies": [{"title": "Price", "template": "{product} is {price}, {stock} left"}],
        },
    )
    result = await ok(team.host, {"t": "suggest", "question": asked["seq"]})
    assert any("true to size" in p["text"].lower() for p in result["passages"])
    assert result["canned"][0]["text"] == "Logo Tee is €12.50, 10 left"
    await ann.close()


async def test_a_remote_console_joins_as_whatever_its_invitation_says(team: Team) -> None:
    invite = await ok(team.host, {"t": "invite", "name": "Sam", "role": "agent"})
    sam = await RawClient.staff(team.url, invite["token"], "staff")
    [welcome] = sam.of_type("welcome")
    assert welcome["role"] == "agent" and welcome["staff_name"] == "Sam"
    refused = await _refused_hello(team.url, invite["token"], "host")
    assert refused["code"] == "forbidden" and "agent" in refused["message"]
    await sam.close()


async def test_only_the_hubs_own_page_or_an_allowed_origin_may_open_the_socket(
    team: Team,
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    own = f"http://127.0.0.1:{team.hub.port}"
    async with connect(team.url, origin=own) as ws:  # type: ignore[arg-type]
        await ws.send('{"t": "hello", "v": 1, "viewer_id": "origin-viewer-1"}')
        assert "welcome" in await ws.recv()
    with pytest.raises(InvalidStatus) as refused:
        async with connect(team.url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    assert b"--allow-origin https://evil.example" in refused.value.response.body
    team.hub.allowed_origins = frozenset({"https://shop.example"})
    async with connect(team.url, origin="https://shop.example"):  # type: ignore[arg-type]
        pass


async def test_a_deleted_comment_leaves_the_replay_the_video_and_the_queue(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-08")
    asked = await comment(ann, "is this real leather? call 555-0199")
    await team.host.wait_for("question")
    await ok(team.host, {"t": "feature", "comment_seq": asked["seq"]})
    await wait_until(team.host, lambda m: m["t"] == "show" and "featured" in m)
    await ok(team.host, {"t": "delete", "seq": asked["seq"], "reason": "phone number"})

    show = json.loads(team.hub.room.shop.snapshot())
    assert "featured" not in show, "a deleted comment leaves the video"
    snapshot = await ok(team.host, {"t": "questions"})
    assert snapshot["questions"] == [], "and the agents' queue"
    late = await RawClient.viewer(team.url, "Late", viewer_id="late-viewer-08", since=0)
    first = await RawClient.viewer(team.url, "First", viewer_id="first-viewer-08")
    for viewer in (late, first):
        assert "555-0199" not in json.dumps(viewer.messages), "replays never carry it"
    again = await ask(team.host, {"t": "delete", "seq": asked["seq"]})
    assert again["code"] == "invalid" and "already" in again["message"]
    [logged] = team.query("SELECT text FROM mod_actions WHERE action = 'delete'")
    assert "555-0199" in logged[0], "the mod log keeps what was deleted"
    await asyncio.gather(ann.close(), late.close(), first.close())


async def test_ctl_runs_the_team_commands(team: Team) -> None:
    shop = team  # ctl() needs the hub's url and a host token, which a Team has
    code, out, err = await ctl(shop, "invite", "Sam", "moderator", "--hours", "2")
    assert code == 0, err
    token = out.rsplit("--token ", 1)[1]
    ann = await RawClient.viewer(shop.url, "Ann", viewer_id="ann-viewer-ctl")
    code, out, err = await ctl(shop, "ban", "ann-viewer-ctl", "--reason", "spam", token=token)
    assert (code, out, err) == (0, "Banned ann-viewer-ctl.", "")
    await ann.wait_for("standing")
    code, out, _ = await ctl(shop, "modes", "--slow", "20", "--pause", token=token)
    assert out == "Chat modes: chat paused, slow mode 20 s."
    code, out, _ = await ctl(shop, "modlog", token=token)
    lines = out.splitlines()
    assert lines[0].startswith("time_utc,action,by") and len(lines) == 3
    assert ",ban,Sam,moderator,ann-viewer-ctl,Ann," in lines[1]
    code, out, err = await ctl(shop, "pin", "JKT-M", token=token)
    assert code == 1 and "may not send 'pin'" in err
    await ann.close()


async def test_welcome_is_the_first_thing_a_host_hears(team: Team) -> None:
    from websockets.asyncio.client import connect

    async with connect(team.url) as ws:
        await ws.send(json.dumps({"t": "hello", "v": 1, "role": "host", "token": team.token}))
        first = json.loads(await ws.recv())
    assert first[0]["t"] == "welcome", "the staff list is pushed after it, never before"


# ---------------------------------------------------------------- the host token


@contextlib.asynccontextmanager
async def hub_on(data_dir: Path) -> AsyncIterator[tuple[Hub, str]]:
    """A hub on ``data_dir`` started as the console and the headless hub start one."""
    store = Store.open(data_dir)
    store.replace_catalogue(CATALOGUE)
    hub = Hub(store, tick=0.01)
    token = hub.host_token()
    await hub.start("127.0.0.1", 0)
    try:
        yield hub, token
    finally:
        await hub.stop()
        store.close()


def _host_rows(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in members if m["role"] == "host"]


async def test_the_host_token_is_the_same_after_a_restart_and_the_team_shows_one_host(
    data_dir: Path,
) -> None:
    async with hub_on(data_dir) as (_hub, first):
        pass
    async with hub_on(data_dir) as (hub, token):
        assert token == first
        host = await RawClient.staff(hub.local_ws_url, token)
        listing = await ok(host, {"t": "staff"})
        [row] = _host_rows(listing["members"])
        assert (row["name"], row.get("expires"), row.get("revoked")) == ("Host", None, None)
        await host.close()
    stored = query(data_dir, "SELECT token_hash FROM staff_tokens")
    assert all(token not in h for (h,) in stored), "the store keeps only hashes"
    token_file = data_dir / "host-token"
    assert token_file.read_text().strip() == token
    assert token_file.stat().st_mode & 0o777 == 0o600


async def test_host_tokens_an_older_console_made_at_every_start_stop_working(
    data_dir: Path,
) -> None:
    store = Store.open(data_dir)
    older = [Hub(store).issue_token("host", "Host") for _ in range(2)]  # two old starts
    store.close()
    async with hub_on(data_dir) as (hub, token):
        for old in older:
            refused = await _refused_hello(hub.local_ws_url, old, "host")
            assert refused["code"] == "bad_token" and "revoked" in refused["message"]
        host = await RawClient.staff(hub.local_ws_url, token)
        assert len(_host_rows((await ok(host, {"t": "staff"}))["members"])) == 1
        await host.close()


async def test_a_lost_token_file_gives_a_new_host_token_and_the_old_one_stops_working(
    data_dir: Path,
) -> None:
    async with hub_on(data_dir) as (_hub, first):
        pass
    (data_dir / "host-token").unlink()
    async with hub_on(data_dir) as (hub, token):
        assert token != first
        refused = await _refused_hello(hub.local_ws_url, first, "host")
        assert "revoked" in refused["message"]


async def test_replacing_the_host_token_closes_the_other_consoles_on_it_at_once(
    data_dir: Path,
) -> None:
    async with hub_on(data_dir) as (hub, old):
        asker = await RawClient.staff(hub.local_ws_url, old)
        other = await RawClient.staff(hub.local_ws_url, old)
        reply = await ok(asker, {"t": "replace_host_token"})
        new = reply["token"]
        assert new != old and new.startswith("sc_")
        await asyncio.wait_for(other._reader, 1.0)  # closed within a second
        assert any(m["t"] == "error" and m["code"] == "bad_token" for m in other.messages)
        # The console that asked goes on, as the new token's.
        listing = await ok(asker, {"t": "staff"})
        [row] = _host_rows(listing["members"])
        assert (row["staff_id"], row["connected"]) == (reply["staff_id"], 1)
        await ok(asker, {"t": "pin", "product": "JKT-M"})
        refused = await _refused_hello(hub.local_ws_url, old, "host")
        assert "revoked" in refused["message"]
        assert (data_dir / "host-token").read_text().strip() == new
        again = await RawClient.staff(hub.local_ws_url, new)
        await again.close()
        await asker.close()
    async with hub_on(data_dir) as (_hub, after_restart):
        assert after_restart == new


async def test_an_invited_co_host_may_not_replace_the_host_token(data_dir: Path) -> None:
    async with hub_on(data_dir) as (hub, token):
        host = await RawClient.staff(hub.local_ws_url, token)
        invite = await ok(host, {"t": "invite", "name": "Lee", "role": "host", "hours": 2})
        lee = await RawClient.staff(hub.local_ws_url, invite["token"])
        refused = await ask(lee, {"t": "replace_host_token"})
        assert refused["code"] == "forbidden"
        assert "File → Staff access" in refused["message"]
        assert (data_dir / "host-token").read_text().strip() == token
        await ok(host, {"t": "staff"})
        await lee.close()
        await host.close()
