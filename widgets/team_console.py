"""The team's part of the console: moderation, the question queue, invitations, roles.

It owns the Moderation and Questions docks and the Team dialog, turns their buttons into
hub commands, routes the hub's team events to them, and lays the window out for the
role the hub gave this console: an agent sees the question queue and the viewer panel
first, a moderator the chat, held comments and the mod log, the host everything.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from console import protocol
from console.domain.modlog import describe_modes, mod_log_csv
from console.errors import ShopcastError
from widgets.alerts import tell
from widgets.moderation_dock import ModerationDock
from widgets.questions_dock import CannedRepliesDialog, QuestionsDock
from widgets.team_dialog import TeamDialog

if TYPE_CHECKING:
    from widgets.main_window import MainWindow

#: Docks each role sees; the rest are hidden (the host may show any with the View menu).
ROLE_DOCKS: dict[str, tuple[str, ...]] = {
    "host": (
        "products",
        "show_dock",
        "sales",
        "chat",
        "profile",
        "watching",
        "moderation",
        "questions",
        "pulse",
        "selling",
    ),
    "agent": ("questions", "profile", "watching", "chat", "pulse"),
    "moderator": ("chat", "moderation", "profile", "watching"),
}
#: The dock brought to the front for each role.
ROLE_FIRST: dict[str, tuple[str, ...]] = {
    "host": ("show_dock", "chat"),
    "agent": ("questions", "profile"),
    "moderator": ("moderation", "chat"),
}


class TeamConsole(QObject):
    def __init__(self, window: MainWindow, ws_url: str) -> None:
        super().__init__(window)
        self.window = window
        self.role = "host"
        self._laid_out_for: str | None = None
        self._moderating = False
        self.moderation = ModerationDock(window)
        self.questions = QuestionsDock(window)
        self.team_dialog = TeamDialog(ws_url, window)
        self.moderation.setMinimumWidth(300)
        self.questions.setMinimumWidth(300)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.moderation)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.questions)
        window.tabifyDockWidget(window.profile, self.moderation)
        window.tabifyDockWidget(self.moderation, self.questions)

        self.moderation.resolve_requested.connect(
            lambda held_id, approve: self._do(
                protocol.ResolveHeld(held_id=held_id, approve=approve)
            )
        )
        self.moderation.modes_requested.connect(lambda m: self._do(m, "Chat modes applied."))
        self.moderation.terms_requested.connect(lambda m: self._do(m, "Blocked terms saved."))
        self.moderation.export_requested.connect(self.export_mod_log)
        self.questions.refresh_requested.connect(lambda: self._spawn(self._refresh_questions()))
        self.questions.claim_requested.connect(
            lambda q: self._do(protocol.ClaimQuestion(question=q))
        )
        self.questions.release_requested.connect(
            lambda q: self._do(protocol.ReleaseQuestion(question=q))
        )
        self.questions.done_requested.connect(
            lambda q: self._do(protocol.FinishQuestion(question=q))
        )
        self.questions.answer_requested.connect(self._answer)
        self.questions.suggestions_requested.connect(
            lambda q: self._spawn(self._load_suggestions(q))
        )
        self.questions.canned_edit_requested.connect(self.edit_canned)
        self.team_dialog.invite_requested.connect(
            lambda name, role, hours: self._spawn(self._invite(name, role, hours))
        )
        self.team_dialog.revoke_requested.connect(self._revoke)
        window.chat.moderation_requested.connect(self.moderate)

    # ------------------------------------------------------------ the hub's word

    def joined(self, welcome: protocol.Welcome) -> None:
        """Lay out the window for this console's role and load what the role needs."""
        self.role = welcome.role
        self.questions.me = welcome.staff_name or ""
        if self._laid_out_for != welcome.role:
            self._laid_out_for = welcome.role
            self.apply_role(welcome.role)
        if welcome.role in ("moderator", "host"):
            self._spawn(self._load_moderation())
        self._spawn(self._refresh_questions())

    def apply_role(self, role: str) -> None:
        docks = {
            "products": self.window.products,
            "show_dock": self.window.show_dock,
            "sales": self.window.sales,
            "chat": self.window.chat,
            "profile": self.window.profile,
            "moderation": self.moderation,
            "questions": self.questions,
            "watching": self.window.profiles.viewer_list,
            "pulse": self.window.pulse,
            "selling": self.window.selling,
        }
        wanted = ROLE_DOCKS.get(role, ROLE_DOCKS["host"])
        for name, dock in docks.items():
            dock.setVisible(name in wanted)
        if self.window.stream is None:
            self._arrange_remote(role)
        for name in ROLE_FIRST.get(role, ()):
            docks[name].raise_()
        if role in ("moderator", "host") and not self._moderating:
            self._moderating = True
            self.window.chat.enable_moderation()
        self.window.set_host_actions(role == "host")
        self.window.chat.input.setPlaceholderText(f"Say something to the room as {role}…")
        self.window.chat.input.setAccessibleName(f"Comment as {role}")

    def _arrange_remote(self, role: str) -> None:
        """Without a video in the middle, put the role's two main docks side by side."""
        w = self.window
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        if role == "moderator":
            w.addDockWidget(left, w.chat)
            w.addDockWidget(right, self.moderation)
            w.tabifyDockWidget(self.moderation, w.profile)
            w.tabifyDockWidget(w.profile, w.profiles.viewer_list)
            w.resizeDocks([w.chat, self.moderation], [520, 680], Qt.Orientation.Horizontal)
        elif role == "agent":
            w.addDockWidget(left, self.questions)
            w.addDockWidget(right, w.profile)
            w.splitDockWidget(w.profile, w.chat, Qt.Orientation.Vertical)
            w.tabifyDockWidget(w.profile, w.profiles.viewer_list)
            w.tabifyDockWidget(w.profiles.viewer_list, w.pulse)
            w.resizeDocks([self.questions, w.profile], [640, 560], Qt.Orientation.Horizontal)

    def route(self, message: protocol.ServerMessage) -> bool:
        """Handle a team event; False when it is not one."""
        match message:
            case protocol.CommentDeleted():
                self.window.chat.remove(message.target)
            case protocol.Modes():
                self.moderation.set_modes(message)
                self.window.modes_label.setText(
                    ""
                    if describe_modes(message) == "open chat"
                    else "Chat: " + describe_modes(message)
                )
            case protocol.ModEntry():
                self.moderation.add_entries([message])
            case protocol.Held():
                self.moderation.add_held(message)
            case protocol.HeldResolved():
                self.moderation.resolved(message.held_id)
            case protocol.QuestionState() | protocol.Answer() | protocol.Erased():
                self.questions.changed()
            case protocol.StaffList():
                self.team_dialog.set_members(message.members)
            case protocol.ProfilesLinked() | protocol.ViewerDeleted():
                pass  # news only: see notice()
            case _:
                return False
        return True

    @staticmethod
    def notice(message: protocol.ServerMessage) -> str:
        """What the status bar says when a team event happens now ("" for nothing).

        The window shows it only for live events, never for replayed history.
        """
        match message:
            case protocol.ProfilesLinked():
                return (
                    f"A checkout email linked {len(message.viewer_ids)} viewer ids into one "
                    "customer; open the profile to see them (Unlink undoes it)."
                )
            case protocol.ViewerDeleted():
                return f"A viewer's data was deleted at their request (by {message.by})."
        return ""

    # ------------------------------------------------------------ loading

    async def _load_moderation(self) -> None:
        log = await self.window.client.request(protocol.GetModLog(limit=1000))
        if isinstance(log, protocol.ModLog):
            self.moderation.load_log(log.entries)
        terms = await self.window.client.request(protocol.GetTerms())
        if isinstance(terms, protocol.Terms):
            self.moderation.set_terms(terms)

    async def _refresh_questions(self) -> None:
        snapshot = await self.window.client.request(protocol.GetQuestions())
        if isinstance(snapshot, protocol.Questions):
            self.questions.show_snapshot(snapshot, time.time())

    async def _load_suggestions(self, question: int) -> None:
        try:
            reply = await self.window.client.request(protocol.GetSuggestions(question=question))
        except ShopcastError:
            return
        if isinstance(reply, protocol.Suggestions):
            self.questions.show_suggestions(reply)

    # ------------------------------------------------------------ acting

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.window._spawn(coro)

    def _do(self, message: protocol.ClientMessage, done: str = "") -> None:
        self.window.command(message, done)

    def _answer(self, question: int, text: str, private: bool) -> None:
        async def send() -> None:
            try:
                await self.window.client.request(
                    protocol.AnswerQuestion(question=question, text=text, private=private)
                )
            except ShopcastError as exc:
                self.window.statusBar().showMessage(str(exc), 8000)
                return
            self.questions.answered()
            self.window.statusBar().showMessage(
                "Answered privately." if private else "Answered for everyone.", 4000
            )

        self._spawn(send())

    def moderate(self, action: str, comment: protocol.Comment, seconds: float) -> None:
        """A moderator's action on a chat comment, from its menu or its shortcut."""
        if comment.role != "viewer":
            self.window.statusBar().showMessage("Staff are not moderated here.", 5000)
            return
        who = comment.name
        match action:
            case "delete":
                self._do(protocol.DeleteComment(seq=comment.seq), f"Deleted {who}'s comment.")
            case "timeout":
                reason = ""
                if not seconds:
                    minutes, ok = QInputDialog.getInt(
                        self.window,
                        "Time out",
                        f"Time {who} out for how many minutes?",
                        5,
                        1,
                        20160,
                    )
                    if not ok:
                        return
                    seconds = minutes * 60.0
                    reason = self._reason(f"Why is {who} timed out? (optional)") or ""
                self._do(
                    protocol.TimeoutViewer(
                        viewer_id=comment.viewer_id, seconds=seconds, reason=reason
                    ),
                    f"{who} is timed out.",
                )
            case "ban":
                reason = self._reason(f"Ban {who} from the chat? Reason (optional):")
                if reason is None:
                    return
                self._do(
                    protocol.BanViewer(viewer_id=comment.viewer_id, reason=reason),
                    f"{who} is banned.",
                )
            case "unban":
                self._do(
                    protocol.UnbanViewer(viewer_id=comment.viewer_id), f"{who} may chat again."
                )

    def _reason(self, prompt: str) -> str | None:
        text, ok = QInputDialog.getText(self.window, "Reason", prompt)
        return text.strip() if ok else None

    async def _invite(self, name: str, role: str, hours: float) -> None:
        try:
            reply = await self.window.client.request(
                protocol.CreateInvite(name=name, role=role, hours=hours)  # type: ignore[arg-type]
            )
        except ShopcastError as exc:
            self.team_dialog.failed(str(exc))
            return
        if isinstance(reply, protocol.InviteCreated):
            self.team_dialog.invited(reply)

    def _revoke(self, staff_id: str) -> None:
        member = next((m for m in self.team_dialog.members if m.staff_id == staff_id), None)
        name = member.name if member else staff_id
        answer = QMessageBox.question(
            self.team_dialog,
            "Revoke access",
            f"Revoke {name}'s access now? They are disconnected at once.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._do(protocol.RevokeStaff(staff_id=staff_id), f"{name}'s access was revoked.")

    def open_team(self) -> None:
        self.team_dialog.show()
        self.team_dialog.raise_()
        self._spawn(self._load_staff())

    async def _load_staff(self) -> None:
        reply = await self.window.client.request(protocol.GetStaff())
        if isinstance(reply, protocol.StaffList):
            self.team_dialog.set_members(reply.members)

    def edit_canned(self) -> None:
        dialog = CannedRepliesDialog(self.questions.canned, self.window)
        if dialog.exec():
            self._do(protocol.SetCanned(replies=dialog.replies()), "Canned replies saved.")

    def export_mod_log(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window,
            "Export mod log",
            f"shopcast-modlog-{time.strftime('%Y%m%d')}.csv",
            "CSV (*.csv)",
        )
        if path:
            self._spawn(self.export_mod_log_to(Path(path)))

    async def export_mod_log_to(self, path: Path) -> None:
        try:
            reply = await self.window.client.request(protocol.GetModLog(limit=10_000), timeout=60)
        except ShopcastError as exc:
            tell(self.window, "Mod log not exported", str(exc))
            return
        assert isinstance(reply, protocol.ModLog)
        try:
            path.write_text(mod_log_csv(reply.entries), encoding="utf-8")
        except OSError as exc:
            tell(
                self.window,
                "Mod log not exported",
                f"Cannot write {path} ({exc.strerror}); choose another folder.",
            )
            return
        self.window.statusBar().showMessage(
            f"Exported {len(reply.entries)} mod-log entries to {path}.", 8000
        )
