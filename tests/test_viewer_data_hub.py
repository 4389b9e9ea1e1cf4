"""Viewers' data through a real hub: consent, the staff panel, notes, export, deletion.

A real hub on 127.0.0.1 over a real SQLite file, with real WebSocket clients; the hub's
clock is the test's, so streams, watch time and abandoned checkouts are exact.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from console.domain.retention import table
from tests.support.clients import RawClient
from tests.test_shop_hub import BUYER, ctl, wait_until
from tests.test_team_hub import Team, ask, comment, ok, running_team


@pytest.fixture
async def team(data_dir: Path) -> AsyncIterator[Team]:
    async with running_team(data_dir) as running:
        yield running


CARD = "4242 4242 4242 4242"


async def buy(viewer: RawClient, key: str, email: str = "ann@example.com") -> dict[str, Any]:
    return await ok(
        viewer,
        {
            "t": "buy",
            "key": key,
            "sku": "TEE-M",
            "quantity": 1,
            "buyer": {**BUYER, "email": email},
            "payment": CARD,
        },
    )


async def test_a_viewer_is_asked_once_and_their_choice_is_kept(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-01")
    [state] = ann.of_type("consent")
    assert state["consent"] == "unknown"
    changed = await ok(ann, {"t": "consent", "consent": "remember"})
    assert changed["consent"] == "remember" and changed["changed"] == team.clock.now
    await ann.close()
    again = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-01")
    assert again.of_type("consent")[0]["consent"] == "remember"
    await again.send({"t": "consent", "consent": "forever"})
    [refused] = await again.wait_for("error")
    assert refused["code"] == "malformed", "only the two choices exist"
    await again.close()


async def test_the_panel_shows_a_remembered_viewers_activity_and_logs_the_look(
    team: Team,
) -> None:
    await ok(team.host, {"t": "pin", "product": "logo-tee"})
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-02")
    await ok(ann, {"t": "consent", "consent": "remember"})
    await comment(ann, "does it come in green?")
    await ok(ann, {"t": "quote", "sku": "TEE-M"})
    await ok(ann, {"t": "quote", "sku": "TEE-M", "quantity": 2})  # same checkout, changed
    order = await buy(ann, "data-key-0001")
    agent = await team.staff("agent", "Kim")
    profile = await ok(agent, {"t": "profile", "viewer_id": "ann-data-02"})
    assert (profile["name"], profile["initial"], profile["consent"]) == ("Ann", "A", "remember")
    assert profile["identity"] == "linked" and profile["online"] is True
    assert [o["order_id"] for o in profile["orders"]] == [order["order_id"]]
    assert profile["lifetime_value"] == order["total"]
    assert "owner" in profile["segments"]
    assert [q["text"] for q in profile["questions"]] == ["does it come in green?"]
    assert [c["state"] for c in profile["checkouts"]] == ["completed"]

    await ok(agent, {"t": "add_note", "viewer_id": "ann-data-02", "text": "Wants green"})
    await team.host.wait_for("profile_changed", viewer_id="ann-data-02")
    await ok(agent, {"t": "tag", "viewer_id": "ann-data-02", "tag": "VIP"})
    again = await ok(team.host, {"t": "profile", "viewer_id": "ann-data-02"})
    assert [n["text"] for n in again["notes"]] == ["Wants green"]
    assert again["notes"][0]["author"] == "Kim"
    assert [t["tag"] for t in again["tags"]] == ["VIP"]
    log = await ok(team.host, {"t": "view_log", "viewer_id": "ann-data-02"})
    assert [e["staff"] for e in log["entries"]] == ["Mia", "Kim"], "newest first"
    refused = await ask(agent, {"t": "view_log"})
    assert refused["code"] == "forbidden", "only the host sees who looked"
    who = await ok(agent, {"t": "who"})
    assert {v["viewer_id"] for v in who["viewers"]} == {"ann-data-02"}
    await asyncio.gather(ann.close(), agent.close())


async def test_without_consent_an_earlier_stream_never_shows(team: Team) -> None:
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-data-03")
    await ok(bob, {"t": "consent", "consent": "session"})
    team.hub.set_live(True)
    await comment(bob, "first show comment")
    team.hub.set_live(False)
    team.clock.advance(3600)
    team.hub.set_live(True)
    await comment(bob, "second show comment")
    profile = await ok(team.host, {"t": "profile", "viewer_id": "bob-data-03"})
    assert [c["text"] for c in profile["comments"]] == ["second show comment"]
    assert profile["consent"] == "session"
    stored = team.query("SELECT COUNT(*) FROM comments WHERE viewer_id = 'bob-data-03'")
    assert stored == [(1,)], "the earlier stream's comment is no longer tied to Bob"
    await bob.close()


async def test_a_viewer_downloads_and_deletes_their_data(team: Team) -> None:
    await ok(team.host, {"t": "pin", "product": "logo-tee"})
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-04")
    await ok(ann, {"t": "consent", "consent": "remember"})
    said = await comment(ann, "my phone is 555-0100")
    await buy(ann, "data-key-0004")
    export = await ok(ann, {"t": "export"})
    text = json.dumps(export["data"])
    assert "555-0100" in text and "ann-data-04" in text and "ann@example.com" in text

    await ok(ann, {"t": "delete_me"})
    [deleted] = await team.host.wait_for("viewer_deleted")
    assert deleted["viewer_id"] == "ann-data-04" and deleted["by"] == "the viewer"
    late = await RawClient.viewer(team.url, "Cat", viewer_id="cat-data-04", since=0)
    [shown] = [c for c in late.of_type("comment") if c["seq"] == said["seq"]]
    assert shown["name"] == "deleted viewer"
    assert team.query("SELECT name, email, payment_token FROM orders") == [("", "", None)], (
        "kept, anonymised, and the saved card forgotten"
    )
    assert team.query("SELECT COUNT(*) FROM orders") == [(1,)]
    await asyncio.wait_for(ann._reader, 2)  # her page was closed after the answer
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-04")
    await comment(ann, "back again")
    mine = await wait_until(team.host, lambda m: m["t"] == "comment" and m["text"] == "back again")
    assert not mine.get("owner"), "the owner badge went with the data"
    await asyncio.gather(ann.close(), late.close())


async def test_the_host_deletes_a_viewers_data_at_their_request(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-05")
    await comment(ann, "please delete me")
    exported = await ok(team.host, {"t": "export", "viewer_id": "ann-data-05"})
    assert "please delete me" in json.dumps(exported["data"])
    await ok(team.host, {"t": "delete_me", "viewer_id": "ann-data-05"})
    [deleted] = await team.host.wait_for("viewer_deleted")
    assert deleted["by"] == "Mia"
    missing = await ask(team.host, {"t": "delete_me"})
    assert missing["code"] == "invalid" and "viewer_id" in missing["message"]
    await ann.close()


async def test_the_host_exports_and_deletes_from_the_command_line(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-06")
    await comment(ann, "ctl can find me")
    code, out, err = await ctl(team, "export-viewer", "ann-data-06")
    assert code == 0, err
    assert "ctl can find me" in json.dumps(json.loads(out))
    code, out, err = await ctl(team, "delete-viewer", "ann-data-06")
    assert (code, err) == (0, "")
    assert out == "Deleted the data of ann-data-06 (orders kept, anonymised)."
    await team.host.wait_for("viewer_deleted")
    await ann.close()


async def test_a_live_refresh_of_an_open_panel_is_not_logged_as_a_new_look(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-07")
    await ok(team.host, {"t": "profile", "viewer_id": "ann-data-07"})
    await ok(team.host, {"t": "profile", "viewer_id": "ann-data-07", "refresh": True})
    log = await ok(team.host, {"t": "view_log", "viewer_id": "ann-data-07"})
    assert len(log["entries"]) == 1
    await ann.close()


async def test_only_the_page_that_made_a_viewer_id_may_read_or_delete_its_data(
    team: Team,
) -> None:
    from websockets.asyncio.client import connect

    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-08")
    said = await comment(ann, "my address is 1 Main St")
    # Anyone can read Ann's viewer id from her comment; without her key it is no use.
    assert said["t"] == "ack"
    async with connect(team.url) as thief:
        hello = {"t": "hello", "v": 1, "viewer_id": "ann-data-08", "key": "x" * 20}
        await thief.send(json.dumps(hello))
        [refused] = json.loads(await thief.recv())
    assert refused["code"] == "bad_token" and "another browser" in refused["message"]
    async with connect(team.url) as keyless:
        await keyless.send(json.dumps({"t": "hello", "v": 1, "viewer_id": "ann-data-08"}))
        [refused] = json.loads(await keyless.recv())
    assert refused["code"] == "bad_token", "leaving the key out does not help"
    async with connect(team.url) as old_page:  # a page from before keys: chat, no data
        await old_page.send(json.dumps({"t": "hello", "v": 1, "viewer_id": "old-page-08"}))
        assert "welcome" in await old_page.recv()
        await old_page.send(json.dumps({"t": "export", "ref": "e"}))
        while True:
            replies = json.loads(await old_page.recv())
            mine = [m for m in replies if m.get("ref") == "e"]
            if mine:
                break
    assert mine[0]["code"] == "forbidden"
    await ann.close()


async def test_a_deleted_viewer_is_not_brought_back_by_their_page_leaving(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-data-09")
    await comment(ann, "bye")
    team.clock.advance(30)
    await ok(ann, {"t": "delete_me"})
    await asyncio.wait_for(ann._reader, 2)  # the hub closes her page after the answer
    await asyncio.sleep(0.05)
    missing = await ask(team.host, {"t": "profile", "viewer_id": "ann-data-09"})
    assert missing["code"] == "not_found"
    assert team.query("SELECT COUNT(*) FROM presence WHERE viewer_id = 'ann-data-09'") == [(0,)]


async def test_a_checkout_email_links_devices_and_staff_can_unlink(team: Team) -> None:
    phone = await RawClient.viewer(team.url, "Ann", viewer_id="ann-phone-10")
    laptop = await RawClient.viewer(team.url, "Ann B", viewer_id="ann-laptop-10")
    for viewer in (phone, laptop):
        await ok(viewer, {"t": "consent", "consent": "remember"})
    await buy(phone, "link-key-0001", email="ann@example.com")
    await buy(laptop, "link-key-0002", email="  ANN@example.com ")
    [linked] = await team.host.wait_for("linked")
    assert set(linked["viewer_ids"]) == {"ann-phone-10", "ann-laptop-10"}
    profile = await ok(team.host, {"t": "profile", "viewer_id": "ann-phone-10"})
    assert profile["identity"] == "linked"
    assert set(profile["linked_viewer_ids"]) >= {"ann-laptop-10"}
    assert profile["order_count"] == 2, "both devices' orders, one customer"

    await ok(team.host, {"t": "unlink", "viewer_id": "ann-laptop-10"})
    apart = await ok(team.host, {"t": "profile", "viewer_id": "ann-phone-10"})
    assert "ann-laptop-10" not in apart.get("linked_viewer_ids", [])
    assert apart["order_count"] == 1
    await asyncio.gather(phone.close(), laptop.close())


# ---------------------------------------------------------------- the retention table (issue 15)


async def test_the_panel_of_a_viewer_who_chose_only_this_show_lists_no_browsing(
    team: Team,
) -> None:
    """The issue's repro: pins A then B, a checkout opened and closed, a reload."""
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-retain-01")
    await ok(bob, {"t": "consent", "consent": "session"})
    undecided = await RawClient.viewer(team.url, "Una", viewer_id="una-retain-01")
    team.hub.set_live(True)
    await ok(team.host, {"t": "pin", "product": "logo-tee"})
    await ok(team.host, {"t": "pin", "product": "denim-jacket"})
    for viewer in (bob, undecided):
        await ok(viewer, {"t": "quote", "sku": "BAG-1"})
        await comment(viewer, "nice jacket")
    team.clock.advance(600)
    await asyncio.gather(bob.close(), undecided.close())
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-retain-01")
    agent = await team.staff("agent", "Kim")
    for viewer_id in ("bob-retain-01", "una-retain-01"):
        profile = await ok(agent, {"t": "profile", "viewer_id": viewer_id})
        assert [c["text"] for c in profile["comments"]] == ["nice jacket"], "public activity shows"
        assert profile.get("watched_not_bought", []) == [], viewer_id
        assert profile.get("checkouts", []) == [] and profile["watch_seconds"] == 0, viewer_id
        stored = team.query(
            "SELECT (SELECT COUNT(*) FROM presence WHERE viewer_id = ?) "
            "+ (SELECT COUNT(*) FROM product_views WHERE viewer_id = ?) "
            "+ (SELECT COUNT(*) FROM checkout_starts WHERE viewer_id = ?)",
            viewer_id,
            viewer_id,
            viewer_id,
        )
        assert stored == [(0,)], "never written, so nothing to hide"
    await asyncio.gather(bob.close(), agent.close())


async def test_after_the_show_a_declined_viewers_name_is_gone_from_the_export(
    team: Team,
) -> None:
    bob = await RawClient.viewer(team.url, "Bob Privatename", viewer_id="bob-retain-02")
    await ok(bob, {"t": "consent", "consent": "session"})
    team.hub.set_live(True)
    await comment(bob, "hello from the show")
    await bob.close()
    team.hub.set_live(False)
    code, out, err = await ctl(team, "export-viewer", "bob-retain-02")
    assert code == 0, err
    held = json.loads(out)
    assert held["viewers"] == [] and held["comments"] == [], "no name, no first or last seen"
    assert "Bob Privatename" not in out
    assert [c["consent"] for c in held["consent"]] == ["session"], "the choice itself is kept"


async def test_a_declined_viewer_who_deletes_after_the_show_is_signed_deleted_viewer_in_replays(
    team: Team,
) -> None:
    bob = await RawClient.viewer(team.url, "Bob Privatename", viewer_id="bob-retain-03")
    await ok(bob, {"t": "consent", "consent": "session"})
    team.hub.set_live(True)
    said = await comment(bob, "remember this line")
    team.hub.set_live(False)
    await ok(bob, {"t": "delete_me"})
    await asyncio.wait_for(bob._reader, 2)  # the hub closes her page after the answer
    late = await RawClient.viewer(team.url, "Cat", viewer_id="cat-retain-03", since=0)
    [shown] = [c for c in late.of_type("comment") if c["seq"] == said["seq"]]
    assert (shown["name"], shown["text"]) == ("deleted viewer", "remember this line")
    assert "Bob Privatename" not in json.dumps(late.messages)
    await late.close()


async def test_a_visit_after_the_show_is_forgotten_within_the_hour(team: Team) -> None:
    team.hub.set_live(True)
    team.hub.set_live(False)
    bob = await RawClient.viewer(team.url, "Bob Latecomer", viewer_id="bob-retain-04")
    await ok(bob, {"t": "consent", "consent": "session"})
    await comment(bob, "is the show over?")
    assert team.query("SELECT name FROM viewers WHERE viewer_id = 'bob-retain-04'") == [
        ("Bob Latecomer",)
    ]
    assert team.query("SELECT COUNT(*) FROM presence WHERE viewer_id = 'bob-retain-04'") == [
        (0,)
    ], "a visit is not recorded at all"
    team.clock.advance(3601)
    # The room's housekeeping applies the table's time limits (every second, real time).
    for _ in range(500):
        if not team.query("SELECT 1 FROM viewers WHERE viewer_id = 'bob-retain-04'"):
            break
        await asyncio.sleep(0.01)
    assert team.query("SELECT name, viewer_id FROM comments WHERE text = 'is the show over?'") == [
        ("deleted viewer", "")
    ]
    assert team.query("SELECT 1 FROM viewers WHERE viewer_id = 'bob-retain-04'") == []
    await bob.close()


async def test_the_page_gets_the_retention_table_from_the_hub_with_its_consent(
    team: Team,
) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-retain-05")
    [state] = ann.of_type("consent")
    assert [row["what"] for row in state["retention"]] == [row.what for row in table()]
    assert {"what", "remember", "without", "why"} == set(state["retention"][0])
    await ann.close()
