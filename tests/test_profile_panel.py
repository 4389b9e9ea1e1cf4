"""The viewer side panel: every section from a profile, and the team using it on a real hub.

The widget tests feed ``protocol.Profile`` objects straight to the dock; the end-to-end
tests run the host's console with its hub (``running_console``) and remote staff
consoles (``remote_console``), with real WebSocket viewers who comment and buy.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QInputDialog, QLabel, QPushButton, QToolButton

from console import protocol
from tests.support.clients import RawClient
from tests.test_team_window import remote_console
from tests.test_window import BUYER, running_console, until
from widgets.profile_dock import DELETED_TEXT, SESSION_ONLY_TEXT, ProfileDock

NOW = time.time()


def full_profile(consent: str = "remember") -> protocol.Profile:
    """A returning VIP owner with something in every section."""
    return protocol.Profile(
        viewer_id="ann-viewer-1",
        name="ann",
        initial="A",
        first_seen=NOW - 86400 * 30,
        last_seen=NOW,
        comment_count=3,
        comment_count_stream=2,
        comments=[
            protocol.ProfileComment(seq=9, text="third, now", ts=NOW - 10),
            protocol.ProfileComment(seq=7, text="a rude one", ts=NOW - 20, deleted=True),
            protocol.ProfileComment(seq=2, text="last week", ts=NOW - 7 * 86400, this_stream=False),
        ],
        online=True,
        consent=consent,
        identity="linked",
        linked_viewer_ids=["ann-viewer-1", "ann-phone-22"],
        stream=protocol.ProfileStream(id=4, started=NOW - 3600),
        streams_attended=5,
        watch_seconds=42 * 60,
        segments=["returning", "vip", "owner"],
        questions=[
            protocol.ProfileQuestion(
                id=11,
                text="Does it run small?",
                ts=NOW - 100,
                claimed_by="Kim",
                answers=[protocol.ProfileAnswer(agent="Kim", text="Take one up.", ts=NOW - 90)],
            ),
            protocol.ProfileQuestion(id=10, text="Ships to Ireland?", ts=NOW - 200, done=True),
        ],
        orders=[
            protocol.ProfileOrder(
                order_id="o-2",
                ts=NOW - 50,
                product_id="tee",
                sku="TEE-M",
                title="Organic tee",
                quantity=2,
                total=5800,
                currency="EUR",
                status="paid",
                deal=True,
            ),
            protocol.ProfileOrder(
                order_id="o-1",
                ts=NOW - 86400,
                product_id="mug",
                sku="MUG",
                title="Stoneware mug",
                quantity=1,
                total=52_200,
                currency="EUR",
                status="paid",
            ),
        ],
        order_count=2,
        paid_orders=2,
        lifetime_value=58_000,
        currency="EUR",
        average_order=29_000,
        watched_not_bought=[protocol.ProfileProductView(product_id="cap", title="Cap", ts=NOW)],
        checkouts=[
            protocol.ProfileCheckout(id=3, product_id="cap", sku="CAP", ts=NOW, state="open"),
            protocol.ProfileCheckout(
                id=2, product_id="cap", sku="CAP", ts=NOW - 2000, state="abandoned"
            ),
            protocol.ProfileCheckout(
                id=1, product_id="tee", sku="TEE-M", ts=NOW - 60, state="completed", order_id="o-2"
            ),
        ],
        reviews=[
            protocol.ProfileReview(
                id="r1", product_id="mug", rating=4, text="Keeps tea hot", created="2026-10-01"
            )
        ],
        moderation=[
            protocol.ProfileModeration(
                id=5,
                ts=NOW - 20,
                action="timeout",
                actor="Sam",
                actor_role="moderator",
                reason="spam",
                until=NOW + 600,
            ),
            protocol.ProfileModeration(
                id=4, ts=NOW - 30, action="hold", actor="rules", actor_role="host", text="buy here"
            ),
        ],
        muted_until=NOW + 600,
        tags=[protocol.ProfileTag(tag="wholesale", author="Host", ts=NOW)],
        notes=[protocol.ProfileNote(id=1, author="Kim", text="Prefers email", ts=NOW)],
    )


def tab_titles(dock: ProfileDock) -> list[str]:
    return [dock.tabs.tabText(i) for i in range(dock.tabs.count())]


def test_a_profile_fills_every_section_with_counts(qtbot) -> None:
    dock = ProfileDock()
    qtbot.addWidget(dock)
    dock.show()
    dock.show_profile(full_profile())
    assert dock.name.text() == "ann" and dock.avatar.initial == "A"
    assert dock.badge_texts() == ["Returning", "VIP", "Owner"]
    assert "watching now" in dock.presence.text()
    assert "Linked to a customer" in dock.identity.text() and "ann-phone-22" in dock.identity.text()
    assert dock.unlink_button.isVisible()
    assert dock.consent.text() != SESSION_ONLY_TEXT
    assert dock.streams.text() == "5" and dock.watch_time.text() == "42 min"
    assert dock.standing.text().startswith("timed out until")
    assert "wholesale" in dock.tags.text()
    assert tab_titles(dock) == [
        "Comments (2)",
        "Questions (2)",
        "Orders (2)",
        "Watched (1)",
        "Checkouts (3)",
        "Reviews (1)",
        "Moderation (2)",
        "Notes (1)",
    ]
    comments = dock.sections["comments"].texts()
    assert [c.split("  ", 1)[1] for c in comments] == ["third, now", "(deleted) a rude one"]
    dock.all_streams.setChecked(True)
    assert dock.tabs.tabText(0) == "Comments (3)"
    assert dock.sections["comments"].texts()[-1].endswith("last week")

    tree = dock.question_tree
    assert tree.topLevelItemCount() == 2
    assert tree.topLevelItem(0).child(0).text(0) == "↳ Kim: Take one up."
    orders = dock.sections["orders"].texts()
    assert orders[0].split("  ", 1)[1] == "2 x Organic tee — €58.00, paid (deal)"
    assert dock.order_summary.text() == (
        "2 paid of 2 · lifetime value €580.00 · average order €290.00"
    )
    assert dock.sections["watched"].texts()[0].endswith("Cap")
    assert dock.checkout_summary.text() == "1 started · 1 abandoned · 1 completed"
    assert dock.sections["reviews"].texts()[0].startswith("★★★★☆")
    moderation = dock.sections["moderation"].texts()
    assert "Timed out until" in moderation[0] and "by Sam (moderator) — spam" in moderation[0]
    assert "Comment held" in moderation[1] and "“buy here”" in moderation[1]
    assert dock.sections["notes"].texts()[0].startswith("Kim, ")


def test_without_consent_only_this_stream_shows_and_the_toggle_is_off(qtbot) -> None:
    dock = ProfileDock()
    qtbot.addWidget(dock)
    dock.show()
    profile = full_profile(consent="session")
    profile.identity, profile.linked_viewer_ids, profile.segments = "anonymous", [], ["owner"]
    dock.show_profile(profile)
    assert dock.consent.text() == SESSION_ONLY_TEXT
    assert dock.consent.isVisible()
    assert not dock.all_streams.isEnabled()
    assert dock.identity.text().startswith("Anonymous") and not dock.unlink_button.isVisible()
    assert dock.badge_texts() == ["Owner"]
    assert dock.streams.text() == dock.watch_time.text() == "not recorded (no consent)"


def test_a_customer_linked_by_one_device_is_shown_linked_not_anonymous(qtbot) -> None:
    dock = ProfileDock()
    qtbot.addWidget(dock)
    dock.show()
    profile = full_profile()
    profile.linked_viewer_ids = []
    dock.show_profile(profile)
    assert dock.identity.text() == "Linked to a customer by checkout email (no other device yet)."
    assert dock.unlink_button.isVisible()


def test_a_deleted_viewer_shows_the_sentence_instead_of_the_profile(qtbot) -> None:
    dock = ProfileDock()
    qtbot.addWidget(dock)
    dock.show()
    dock.show_profile(full_profile())
    assert not dock.viewer_deleted("someone-else-1")
    assert dock.name.isVisible()
    assert dock.viewer_deleted("ann-viewer-1")
    assert dock.placeholder.isVisible() and "deleted at the viewer's request" in DELETED_TEXT
    assert dock.placeholder.text() == DELETED_TEXT and not dock.name.isVisible()


def test_actions_follow_the_role_and_become_commands(qtbot) -> None:
    dock = ProfileDock()
    qtbot.addWidget(dock)
    dock.show()
    sent: list[protocol.ClientMessage] = []
    dock.command_requested.connect(lambda message, _done: sent.append(message))
    dock.show_profile(full_profile())
    dock.set_role("agent")
    assert not dock.ban_button.isVisible() and not dock.timeout_button.isVisible()
    assert not dock.private_box.isHidden() and not dock.view_log_button.isVisible()
    dock.set_role("moderator")
    assert dock.ban_button.isVisible() and dock.private_box.isHidden()
    dock.set_role("host")
    assert all(not w.isHidden() for w in (dock.ban_button, dock.private_box, dock.view_log_button))

    comments = dock.sections["comments"].list
    comments.setCurrentRow(1)
    assert not dock.comment_reply.button.isEnabled(), "a deleted comment gets no answer"
    comments.setCurrentRow(0)
    dock.comment_reply.line.setText("Glad you like it!")
    dock.comment_reply.button.click()
    dock.tabs.setCurrentIndex(1)
    dock.private_box.line.setText("It is on its way.")
    dock.private_box.button.click()
    dock.set_tag("VIP", True)
    dock.note_edit.setPlainText("Ask about the wholesale order")
    dock.note_button.click()
    dock.timeout_button.menu().actions()[1].trigger()
    dock.unban_button.click()
    dock.unlink_button.click()
    assert sent == [
        protocol.AnswerQuestion(question=9, text="Glad you like it!", private=True),
        protocol.AnswerQuestion(question=11, text="It is on its way.", private=True),
        protocol.SetTag(viewer_id="ann-viewer-1", tag="VIP", on=True),
        protocol.AddNote(viewer_id="ann-viewer-1", text="Ask about the wholesale order"),
        protocol.TimeoutViewer(viewer_id="ann-viewer-1", seconds=600.0),
        protocol.UnbanViewer(viewer_id="ann-viewer-1"),
        protocol.Unlink(viewer_id="ann-viewer-1"),
    ]
    assert dock.note_edit.toPlainText() == ""


def test_every_control_has_an_accessible_name_and_fonts_are_relative(qtbot) -> None:
    dock = ProfileDock()
    qtbot.addWidget(dock)
    dock.show()
    dock.show_profile(full_profile())
    for control in dock.findChildren(QPushButton) + dock.findChildren(QToolButton):
        if control.parent() is dock.tabs.tabBar() or control.objectName().startswith("qt_"):
            continue
        assert control.accessibleName(), control.text()
    base = dock.font().pointSizeF()
    assert dock.name.font().pointSizeF() > base
    bigger = dock.font()
    bigger.setPointSizeF(base * 2)
    dock.setFont(bigger)
    assert dock.name.font().pointSizeF() > base * 2, "the name grows with the font"
    assert dock.avatar.height() > dock.fontMetrics().height() * 2
    assert all(isinstance(b, QLabel) for b in dock._badge_labels)


def test_every_stop_of_the_tab_order_is_named_for_a_screen_reader(qtbot) -> None:
    """Walk the keyboard's focus chain on every tab, reading names as assistive tech does."""
    dock = ProfileDock()
    qtbot.addWidget(dock)
    dock.resize(420, 900)
    dock.show()
    dock.show_profile(full_profile())
    stops: list[str] = []
    for tab in range(dock.tabs.count()):
        dock.tabs.setCurrentIndex(tab)
        widget = dock.nextInFocusChain()
        while widget is not dock:
            if (
                dock.isAncestorOf(widget)
                and widget.isVisibleTo(dock)
                and widget.isEnabled()
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
                and not widget.objectName().startswith("Scroll")  # the tab bar's arrows
            ):
                accessible = QAccessible.queryAccessibleInterface(widget)
                name = accessible.text(QAccessible.Text.Name)
                assert name, f"{type(widget).__name__} on tab {dock.tabs.tabText(tab)!r}"
                stops.append(name)
            widget = widget.nextInFocusChain()
    for needed in ("Add or remove a tag", "Time this viewer out", "New staff note", "Orders"):
        assert needed in stops, f"{needed!r} cannot be reached with Tab"


# ---------------------------------------------------------------- with a real hub


async def _buyer_who_comments(window, hub) -> RawClient:  # type: ignore[no-untyped-def]
    """Ann remembers, the host pins the first product, Ann buys it and comments."""
    first = window.products.model.product(0)
    window.pin(first.id)
    await until(lambda: window.show_dock.state.pinned is not None)
    ann = await RawClient.viewer(hub.local_ws_url, "ann", viewer_id="ann-viewer-p1")
    await ann.send({"t": "consent", "consent": "remember", "ref": "c"})
    await ann.wait_for("consent", count=2)
    await ann.send(
        {
            "t": "buy",
            "key": "order-key-p001",
            "sku": first.variants[0].sku,
            "quantity": 1,
            "buyer": BUYER,
            "payment": "4242 4242 4242 4242",
        }
    )
    await ann.wait_for("order_confirmed")
    await ann.send({"t": "comment", "text": "Love it, it fits"})
    await until(lambda: window.chat.model.rowCount() == 1)
    return ann


@pytest.mark.qasync
async def test_staff_open_a_buyers_profile_share_a_note_and_the_host_sees_who_looked(
    tmp_path: Path,
) -> None:
    async with (
        running_console(tmp_path) as (host, hub),
        remote_console(tmp_path, hub, "agent", "Kim") as agent,
    ):
        ann = await _buyer_who_comments(host, hub)
        title = host.products.model.product(0).title

        # The host opens Ann from the chat (the signal a click on her name sends).
        host.chat.viewer_activated.emit("ann-viewer-p1")
        panel = host.profile
        await until(lambda: panel.profile is not None and panel.profile.orders)
        assert panel.isVisible()
        assert panel.name.text() == "ann" and panel.avatar.initial == "A"
        assert "Owner" in panel.badge_texts() and "New" in panel.badge_texts()
        assert panel.consent.text() != SESSION_ONLY_TEXT
        assert panel.sections["comments"].texts()[0].endswith("Love it, it fits")
        assert f"1 x {title}" in panel.sections["orders"].texts()[0]
        assert panel.tabs.tabText(2) == "Orders (1)"
        assert "lifetime value" in panel.order_summary.text()

        # The agent opens her too; a note and a tag from the host reach the agent's panel.
        agent.open_profile("ann-viewer-p1")
        await until(lambda: agent.profile.profile is not None)
        assert not agent.profile.ban_button.isVisible()
        panel.tabs.setCurrentIndex(7)
        panel.note_edit.setPlainText("Asked for gift wrapping")
        panel.note_button.click()
        panel.set_tag("VIP", True)
        await until(
            lambda: (
                "Asked for gift wrapping" in " ".join(agent.profile.sections["notes"].texts())
                and "VIP" in agent.profile.tags.text()
            )
        )
        assert agent.profile.sections["notes"].texts()[0].startswith("Host, ")
        await until(lambda: "VIP" in panel.tags.text())

        # Reply in public: the chat input says @ann and has the focus.
        panel.reply_button.click()
        assert host.chat.input.text() == "@ann "

        # The host sees that Kim looked.
        panel.view_log_button.click()
        dialog = host.profiles.view_log
        assert dialog is not None
        await until(lambda: dialog.table.rowCount() >= 2)
        rows = [
            [dialog.table.item(r, c).text() for c in range(4)]
            for r in range(dialog.table.rowCount())
        ]
        assert ["Kim", "agent", "ann"] in [row[1:] for row in rows]
        assert ["Host", "host", "ann"] in [row[1:] for row in rows]
        dialog.close()

        # Ann comments again (a question): the open panel follows by itself.
        await ann.send({"t": "comment", "text": "does it come in blue?"})
        await until(
            lambda: (
                any("come in blue" in t for t in panel.sections["comments"].texts())
                and panel.question_tree.topLevelItemCount() == 1
                and "come in blue" in panel.question_tree.topLevelItem(0).text(0)
            )
        )
        await ann.close()


@pytest.mark.qasync
async def test_a_moderator_opens_viewers_from_the_list_orders_and_times_one_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("", False))
    async with (
        running_console(tmp_path) as (host, hub),
        remote_console(tmp_path, hub, "moderator", "Sam") as mod,
    ):
        ann = await _buyer_who_comments(host, hub)
        bob = await RawClient.viewer(hub.local_ws_url, "Bob", viewer_id="bob-viewer-p1")

        # The searchable list of who is watching, fed by the hub.
        watching = mod.profiles.viewer_list
        watching.show()
        watching.raise_()
        await until(lambda: sorted(watching.names()) == ["Bob", "ann"])
        watching.search.setText("bo")
        assert watching.names() == ["Bob"]
        watching.view.activated.emit(watching.proxy.index(0, 0))
        await until(lambda: mod.profile.profile is not None and mod.profile.name.text() == "Bob")
        assert mod.profile.isVisible() and mod.profile.ban_button.isVisible()

        # From the host's orders window: a double-click on the row opens the buyer.
        host.open_orders()
        orders = host.orders_window
        await until(lambda: orders.model.rowCount() == 1)
        orders.table.activated.emit(orders.proxy.index(0, 3))
        await until(lambda: host.profile.viewer_id == "ann-viewer-p1")
        orders.close()

        # The moderator times Ann out from her panel; the panel shows it at once.
        mod.open_profile("ann-viewer-p1")
        await until(lambda: mod.profile.name.text() == "ann")
        mod.profile.timeout_button.menu().actions()[1].trigger()
        [standing] = await ann.wait_for("standing")
        assert standing["muted_until"] > 0
        await until(lambda: mod.profile.tabs.tabText(6) == "Moderation (1)")
        entry = mod.profile.sections["moderation"].texts()[0]
        assert "Timed out" in entry and "by Sam (moderator)" in entry
        assert mod.profile.standing.text().startswith("timed out")

        # A held comment opens its author from the moderation queue.
        await hub_terms(mod, "giveaway")
        await bob.send({"t": "comment", "text": "free giveaway here"})
        held = mod.team.moderation
        await until(lambda: held.held_list.count() == 1)
        held.held_list.setCurrentRow(0)
        held.profile_button.click()
        await until(lambda: mod.profile.name.text() == "Bob")
        await asyncio.gather(ann.close(), bob.close())


async def hub_terms(window, pattern: str) -> None:  # type: ignore[no-untyped-def]
    await window.client.request(
        protocol.SetTerms(terms=[protocol.TermSpec(pattern=pattern)], block_links=True)
    )


@pytest.mark.qasync
async def test_an_agent_opens_the_asker_from_the_question_queue_and_a_deletion_shows(
    tmp_path: Path,
) -> None:
    async with (
        running_console(tmp_path) as (host, hub),
        remote_console(tmp_path, hub, "agent", "Kim") as agent,
    ):
        ann = await RawClient.viewer(hub.local_ws_url, "ann", viewer_id="ann-viewer-q1")
        # (Without consent to be remembered, the panel shows only public answers.)
        await ann.send({"t": "consent", "consent": "remember"})
        await ann.wait_for("consent", count=2)
        await ann.send({"t": "comment", "text": "does it run small?"})
        tree = agent.team.questions.tree
        await until(lambda: tree.topLevelItemCount() == 1)
        tree.itemActivated.emit(tree.topLevelItem(0), 0)
        panel = agent.profile
        await until(lambda: panel.profile is not None and panel.question_tree.topLevelItemCount())
        assert panel.tabs.tabText(1) == "Questions (1)"
        panel.tabs.setCurrentIndex(1)
        panel.private_box.line.setText("True to size.")
        panel.private_box.button.click()
        [answer] = await ann.wait_for("answer")
        assert answer["private"] and answer["agent"] == "Kim"
        await until(lambda: panel.question_tree.topLevelItem(0).childCount() == 1)
        assert "(private)" in panel.question_tree.topLevelItem(0).child(0).text(0)

        # The host deletes Ann's data at her request; the agent's panel says so.
        await host.client.request(protocol.DeleteData(viewer_id="ann-viewer-q1"))
        await until(lambda: panel.deleted)
        assert panel.placeholder.text() == DELETED_TEXT
        await ann.close()


@pytest.mark.qasync
@pytest.mark.skipif(not os.environ.get("SHOPCAST_SCREENSHOT"), reason="docs screenshot only")
async def test_screenshot_of_the_panel(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (host, hub):
        ann = await _buyer_who_comments(host, hub)
        host.open_profile("ann-viewer-p1")
        await until(lambda: host.profile.profile is not None)
        host.profile.set_tag("VIP", True)
        await until(lambda: host.profile.profile is not None and host.profile.profile.tags)
        host.profile.tabs.setCurrentIndex(2)
        host.profile.setFloating(True)
        host.profile.resize(440, 780)
        await asyncio.sleep(0.3)
        host.profile.widget().grab().save(os.environ["SHOPCAST_SCREENSHOT"])
        host.profile.resize(440, 480)
        await asyncio.sleep(0.3)
        host.profile.widget().grab().save(os.environ["SHOPCAST_SCREENSHOT"] + ".short.png")
        await ann.close()
