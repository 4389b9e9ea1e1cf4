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
