"""Two staff consoles on one hub: the host's window and a remote moderator's or agent's.

The host console runs the hub and the stream as ``python -m console`` does; the second
console is built as ``--connect`` builds it (no capture, no stream, role from the
token). Viewers are real WebSocket clients. Everything runs on one qasync loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog

from console import protocol
from console.client import StaffClient
from console.hub.server import Hub
from tests.support.clients import RawClient
from tests.test_window import running_console, until
from widgets.main_window import MainWindow

pytestmark = pytest.mark.qasync


@contextlib.asynccontextmanager
async def remote_console(
    tmp_path: Path, hub: Hub, role: str, name: str
) -> AsyncIterator[MainWindow]:
    """A console that joins ``hub`` with an invitation for ``role``, as ``--connect`` does."""
    token = hub.issue_token(role, name)  # type: ignore[arg-type]
    holder: list[MainWindow] = []
    client = StaffClient(
        hub.local_ws_url,
        token,
        role="staff",
        on_messages=lambda m: holder[0].on_messages(m),
        on_state=lambda s, t: holder[0].on_connection_state(s, t) if holder else None,
    )
    settings = QSettings(str(tmp_path / f"{role}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(client, None, hub.viewer_url, settings, None, None)
    holder.append(window)
    client.start()
    window.show()
    await client.wait_connected()
    await until(lambda: holder[0].team.role == role)
    try:
        yield window
    finally:
        await client.close()
        window.close()
        window.deleteLater()
        await asyncio.sleep(0.05)
        holder.clear()
        del window
        gc.collect()


async def test_a_moderators_ban_shows_in_the_hosts_console_and_takes_effect_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("spam links", True))
    async with (
        running_console(tmp_path) as (host, hub),
        remote_console(tmp_path, hub, "moderator", "Sam") as mod,
    ):
        assert mod.stream is None and mod.preview is None
        assert mod.team.moderation.isVisible() and mod.chat.isVisible()
        assert not mod.products.isVisible() and not mod.sales.isVisible()
        ann = await RawClient.viewer(hub.local_ws_url, "Ann", viewer_id="ann-viewer-w1")
        bob = await RawClient.viewer(hub.local_ws_url, "Bob", viewer_id="bob-viewer-w1")
        await ann.send({"t": "comment", "text": "spam spam spam"})
        await bob.send({"t": "comment", "text": "hi all"})
        await until(lambda: mod.chat.model.rowCount() == 2)

        # The moderator selects Ann's comment and presses Ctrl+B (ban, with a reason)...
        mod.chat.view.setCurrentIndex(mod.chat.model.index(0, 0))
        mod.chat.view.setFocus()
        QTest.keyClick(mod.chat.view, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
        [standing] = await ann.wait_for("standing")
        assert standing["banned"] and standing["reason"] == "spam links"
        # ...the host's console logs it at once...
        await until(lambda: any(e.action == "ban" for e in host.team.moderation.entries))
        entry = next(e for e in host.team.moderation.entries if e.action == "ban")
        assert (entry.actor, entry.name, entry.reason) == ("Sam", "Ann", "spam links")
        assert host.team.moderation.log_table.rowCount() >= 1
        # ...and Ann cannot post.
        await ann.send({"t": "comment", "text": "hello?", "ref": "after"})
        [error] = await ann.wait_for("error")
        assert error["code"] == "banned"

        # Ctrl+2 times Bob out for 10 minutes.
        mod.chat.view.setCurrentIndex(mod.chat.model.index(1, 0))
        QTest.keyClick(mod.chat.view, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
        [muted] = await bob.wait_for("standing")
        assert muted["muted_until"] > 0 and not muted.get("banned")

        # Delete (the Del key) removes a comment from every console and page.
        mod.chat.view.setCurrentIndex(mod.chat.model.index(0, 0))
        QTest.keyClick(mod.chat.view, Qt.Key.Key_Delete)
        await bob.wait_for("delete")
        await until(lambda: host.chat.model.rowCount() == 1 and mod.chat.model.rowCount() == 1)
        await asyncio.gather(ann.close(), bob.close())


async def test_held_comments_wait_in_the_moderators_queue_until_approved(tmp_path: Path) -> None:
    async with (
        running_console(tmp_path) as (host, hub),
        remote_console(tmp_path, hub, "moderator", "Sam") as mod,
    ):
        dock = mod.team.moderation
        dock.tabs.setCurrentIndex(3)
        dock._add_term_row(protocol.TermSpec(pattern="refund"))
        dock.terms_table.item(0, 0).setText("refund")
        dock._save_terms()
        await until(lambda: hub.room.moderation.policy.terms)
        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        await ann.send({"t": "comment", "text": "I want a REFUND now"})
        await ann.wait_for("held")
        await until(
            lambda: dock.held_list.count() == 1 and host.team.moderation.held_list.count() == 1
        )
        assert host.chat.model.rowCount() == 0, "nobody sees it in the chat yet"
        assert dock.tabs.tabText(0) == "Held (1)"
        dock.held_list.setCurrentRow(0)
        dock.approve_button.click()
        await until(lambda: host.chat.model.rowCount() == 1)
        assert host.chat.model.comment(0).text == "I want a REFUND now"
        await until(
            lambda: dock.held_list.count() == 0 and host.team.moderation.held_list.count() == 0
        )
        await ann.close()


async def test_an_agent_claims_and_answers_a_question_privately(tmp_path: Path) -> None:
    async with (
        running_console(tmp_path) as (_host, hub),
        remote_console(tmp_path, hub, "agent", "Kim") as agent,
    ):
        questions = agent.team.questions
        assert questions.isVisible() and not agent.team.moderation.isVisible()
        assert not any(a.isVisible() for a in agent._host_actions)
        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        bob = await RawClient.viewer(hub.local_ws_url, "Bob")
        await ann.send({"t": "comment", "text": "does it run small?"})
        await until(lambda: questions.tree.topLevelItemCount() == 1)
        assert "1 waiting" in questions.stats.text()
        questions.tree.setCurrentItem(questions.tree.topLevelItem(0))
        questions.claim_button.click()
        await until(lambda: "claimed by you" in questions.tree.topLevelItem(0).text(2))
        await until(lambda: questions.suggestions.count() > 0)
        questions.answer.setPlainText("It runs a little small: take one size up.")
        questions.private.setChecked(True)
        questions.send_button.click()
        [answer] = await ann.wait_for("answer")
        assert answer["private"] and answer["agent"] == "Kim"
        await until(lambda: questions.answer.toPlainText() == "")
        await asyncio.sleep(0.1)
        assert not bob.of_type("answer"), "a private answer reaches only the asker"
        questions.done_button.click()
        await until(lambda: questions.tree.topLevelItemCount() == 0)
        assert "median first answer" in questions.stats.text()
        await asyncio.gather(ann.close(), bob.close())


async def test_the_host_invites_a_moderator_and_revokes_them(tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    async with running_console(tmp_path) as (host, hub):
        host.team.open_team()
        dialog = host.team.team_dialog
        dialog.name.setText("Sam")
        dialog.role.setCurrentIndex(1)
        dialog.invite_button.click()
        await until(lambda: "--token" in dialog.invitation.text())
        command = dialog.invitation.text()
        assert command.startswith(f"python -m console --connect {hub.local_ws_url} --token ")
        token = command.rsplit(" ", 1)[1]
        sam = await RawClient.staff(hub.local_ws_url, token, "staff")
        await until(lambda: any(m.name == "Sam" and m.connected for m in dialog.members))
        row = next(i for i, m in enumerate(dialog.members) if m.name == "Sam")
        dialog.table.cellWidget(row, 4).click()
        await asyncio.wait_for(sam._reader, 2)
        await until(lambda: any(m.name == "Sam" and m.revoked for m in dialog.members))


async def test_staff_access_shows_the_host_token_and_replaces_it_for_this_console(
    tmp_path: Path,
) -> None:
    async with running_console(tmp_path) as (host, hub):
        old = host.host_token
        assert old is not None
        other = await RawClient.staff(hub.local_ws_url, old)
        dialog = host.show_staff_access()
        assert dialog.isVisible()
        assert dialog.token.text() == old
        assert dialog.command.text() == (
            f"python -m console ctl --hub {hub.local_ws_url} --token {old} pin SKU"
        )
        dialog.replace_button.click()
        await until(lambda: dialog.token.text() != old)
        new = dialog.token.text()
        assert (tmp_path / "data" / "host-token").read_text().strip() == new
        assert "no longer works" in dialog.problem.text()
        await asyncio.wait_for(other._reader, 2)  # the other console on it was closed
        assert host.host_token == new
        # This console goes on, and after a dropped connection says hello with the new one.
        dropped = host.client._ws
        assert dropped is not None
        await dropped.close()
        await until(
            lambda: host.client._ws not in (None, dropped) and host.client._connected.is_set()
        )
        assert isinstance(await host.client.request(protocol.GetStaff()), protocol.StaffList)
        assert host.show_staff_access() is dialog, "one dialog, opened again"


async def test_the_team_dialog_shows_one_host_row_that_staff_access_replaces(
    tmp_path: Path,
) -> None:
    async with running_console(tmp_path) as (host, hub):
        hub.issue_token("agent", "Sam", ttl=3600)
        host.team.open_team()
        dialog = host.team.team_dialog
        await until(lambda: len(dialog.members) == 2)
        hosts = [row for row, m in enumerate(dialog.members) if m.role == "host"]
        assert len(hosts) == 1
        assert dialog.table.item(hosts[0], 3).text() == "host token"
        revoke = dialog.table.cellWidget(hosts[0], 4)
        assert not revoke.isEnabled()
        assert "Staff access" in revoke.toolTip()


async def test_an_imported_oversold_variant_is_reported_in_the_console(tmp_path: Path) -> None:
    export = tmp_path / "oversold.csv"
    export.write_text(
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Inventory Qty,Variant Price\n"
        "tee,Organic Tee,Size,S,TEE-S,5,25.00\n"
        "tee,,,M,TEE-M,-3,25.00\n",
        encoding="utf-8",
    )
    async with running_console(tmp_path) as (host, _hub):
        reply = await host.import_file(export)
        assert reply is not None and reply.imported == 1
        report = host.import_report
        assert report.isVisible()
        assert "imported with a warning" in report.text()
        assert report.text().startswith("Imported 1 product from 2 rows of oversold.csv.")
        assert report.detailedText() == (
            "Line 3 (tee), warning: Variant Inventory Qty -3 is below 0 (oversold in Shopify); "
            "imported as 0, sold out: set the stock once the units are in"
        )
        report.close()
