"""Giveaways, in the hub: the host opens one, viewers enter, the hub draws a checkable winner.

The rules are :mod:`console.domain.giveaway`'s; this shell brings what the domain must
not make itself: the random seed (``secrets``), the hub's clock, who commented or bought
during this show, and bans. The seed's SHA-256 goes out in the public ``giveaway`` event
at the start; the seed stays in this process until the draw reveals it with the entries,
so every page can recompute the winner. Entries are logged as private
``giveaway_entry`` events (the entrant and staff), the rest as public ``giveaway``
events: a page that reloads, or a restarted hub, finds the giveaway again. The seed is
never stored before the draw, so a hub restarted meanwhile cannot draw; the host
cancels that giveaway and starts another.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import msgspec

from console import protocol
from console.domain import giveaway as rules
from console.errors import ProtocolError
from console.hub.fanout import private_to
from console.protocol import ErrorCode
from console.store.api import Orders, Team
from console.store.records import Actor, ClaimMove

log = logging.getLogger(__name__)

Publish = Callable[[int, bytes, str | None], None]


class GiveawayDesk:
    """The room's giveaway (one at a time). Used from the hub's loop thread only."""

    def __init__(
        self,
        records: Orders,
        team: Team,
        publish: Publish,
        clock: Callable[[], float],
        is_banned: Callable[[str], bool],
        is_buyer: Callable[[str], bool],
    ) -> None:
        self._records = records
        self._team = team
        self._publish = publish
        self._clock = clock
        self._is_banned = is_banned
        self._is_buyer = is_buyer
        self._giveaway: rules.Giveaway | None = None
        self._seed: bytes | None = None
        self._names: dict[str, str] = {}
        self._last: protocol.GiveawayState | None = None
        #: Viewers who commented while this hub ran (``commented`` giveaways).
        self._commented: set[str] = set()

    # ------------------------------------------------------------ state

    def resume(self) -> None:
        """Rebuild the last giveaway and its entries from the room's log."""
        for event in self._records.giveaway_log():
            if isinstance(event, protocol.GiveawayEntry):
                if self._giveaway is not None and self._giveaway.id == event.giveaway_id:
                    self._names[event.viewer_id] = event.name
                    self._giveaway = rules.apply(
                        self._giveaway,
                        rules.GiveawayEntered(event.giveaway_id, event.viewer_id, event.at),
                    )
                continue
            self._last = event
            if event.why == "start":
                self._names = {}
                self._giveaway = rules.apply(
                    None,
                    rules.GiveawayStarted(
                        giveaway_id=event.giveaway_id,
                        prize=event.prize,
                        eligibility=event.eligibility,  # type: ignore[arg-type]
                        keyword=event.keyword,
                        starts=event.starts,
                        ends=event.ends,
                        commitment=event.commitment,
                    ),
                )
            elif self._giveaway is not None and event.why == "draw" and event.seed:
                self._giveaway = rules.apply(
                    self._giveaway,
                    rules.GiveawayDrawn(
                        event.giveaway_id,
                        event.seed,
                        tuple(event.entries),
                        event.winner_id,
                        event.at,
                    ),
                )
            elif self._giveaway is not None and event.why == "cancel":
                self._giveaway = rules.apply(
                    self._giveaway, rules.GiveawayCancelled(event.giveaway_id, event.at)
                )

    def current(self) -> protocol.GiveawayState | None:
        """The giveaway for a page or console that joins (``seq`` 0)."""
        if self._giveaway is None or self._last is None:
            return None
        return self._state(self._last.why, self._last.at)

    def own_entry(self, viewer_id: str | None) -> protocol.GiveawayEntry | None:
        state = self._giveaway
        if state is None or viewer_id is None or not state.has_entered(viewer_id):
            return None
        return protocol.GiveawayEntry(
            seq=0,
            giveaway_id=state.id,
            viewer_id=viewer_id,
            name=self._names.get(viewer_id, ""),
            at=state.starts,
        )

    def _state(self, why: str, at: float) -> protocol.GiveawayState:
        state = self._giveaway
        assert state is not None
        drawn = state.status == "drawn"
        return protocol.GiveawayState(
            seq=0,
            giveaway_id=state.id,
            prize=state.prize,
            eligibility=state.eligibility,
            starts=state.starts,
            ends=state.ends,
            commitment=state.commitment,
            status=state.status,
            why=why,
            at=at,
            no_purchase_necessary=state.eligibility != "bought",
            keyword=state.keyword,
            entrants=len(state.entrants),
            seed=state.seed if drawn else None,
            entries=sorted(set(state.entrants)) if drawn else [],
            winner_id=state.winner,
            winner=self._names.get(state.winner) if state.winner else None,
        )

    # ------------------------------------------------------------ the host

    def start(self, message: protocol.StartGiveaway) -> None:
        if self._giveaway is not None and self._giveaway.status == "open":
            raise ProtocolError(
                ErrorCode.CONFLICT, "A giveaway is open; draw or cancel it before the next."
            )
        seed = secrets.token_bytes(rules.SEED_BYTES)
        now = self._clock()
        try:
            decision = rules.start_giveaway(
                "G-" + secrets.token_hex(4).upper(),
                message.prize,
                message.seconds,
                message.eligibility,
                seed,
                now,
                keyword=message.keyword,
            )
        except rules.GiveawayError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self._giveaway, self._seed, self._names = decision.giveaway, seed, {}
        self._commit("start", now)

    def draw(self, actor: Actor) -> None:
        state = self._open()
        if self._seed is None:
            raise ProtocolError(
                ErrorCode.INVALID,
                "The hub restarted since this giveaway began and its seed is gone (it is "
                "never stored before the draw); cancel it and start another.",
            )
        now = self._clock()
        try:
            self._giveaway = rules.draw(state, self._seed, now).giveaway
        except rules.GiveawayError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self._seed = None
        self._commit("draw", now)
        log.info("giveaway %s drawn among %d entrants", state.id, len(state.entrants))
        drawn = self._giveaway
        winner = drawn.winner or ""
        among = f"among {len(drawn.entrants)} entrant(s), seed {drawn.seed}"
        who = f"{self._names.get(winner, winner)} won" if winner else "no winner"
        self._log(actor, now, winner, f"{drawn.prize} ({drawn.id}): {who} {among}")

    def cancel(self, actor: Actor) -> None:
        state = self._open()
        now = self._clock()
        self._giveaway = rules.cancel(state, now).giveaway
        self._seed = None
        self._commit("cancel", now)
        self._log(
            actor,
            now,
            "",
            f"{state.prize} ({state.id}): cancelled, {len(state.entrants)} entrant(s)",
        )

    # ------------------------------------------------------------ viewers

    def enter(self, viewer_id: str, name: str, giveaway_id: str | None = None) -> None:
        state = self._open()
        if giveaway_id is not None and giveaway_id != state.id:
            raise ProtocolError(ErrorCode.INVALID, "That giveaway is over; enter the one shown.")
        now = self._clock()
        try:
            decision = rules.enter(
                state,
                viewer_id,
                now,
                commented=viewer_id in self._commented,
                bought=self._is_buyer(viewer_id),
                banned=self._is_banned(viewer_id),
            )
        except rules.GiveawayError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        if not decision.events:
            return
        self._names[viewer_id] = name
        self._giveaway = decision.giveaway
        entry = protocol.GiveawayEntry(
            seq=0, giveaway_id=state.id, viewer_id=viewer_id, name=name, at=now
        )
        self._commit("enter", now, entry)

    def consider(self, viewer_id: str, name: str, text: str) -> None:
        """A published comment: it counts for ``commented``, and the keyword enters."""
        self._commented.add(viewer_id)
        state = self._giveaway
        if state is None or not state.is_open(self._clock()) or not rules.is_entry(state, text):
            return
        try:
            self.enter(viewer_id, name)
        except ProtocolError as exc:
            log.info("keyword entry of %s refused: %s", viewer_id, exc)

    # ------------------------------------------------------------ store

    def _open(self) -> rules.Giveaway:
        if self._giveaway is None or self._giveaway.status != "open":
            raise ProtocolError(ErrorCode.NOT_FOUND, "No giveaway is open.")
        return self._giveaway

    def _log(self, actor: Actor, now: float, winner: str, text: str) -> None:
        """The draw lands in the mod log: who drew, the winner, and how to check it."""
        name = self._names.get(winner, "") if winner else ""
        seq, body, audience = self._team.log_action("giveaway", actor, now, winner, name, text=text)
        self._publish(seq, body, audience)

    def _commit(self, why: str, at: float, entry: protocol.GiveawayEntry | None = None) -> None:
        if entry is not None:
            move = ClaimMove(
                "",
                "",
                0,
                "giveaway_entry",
                entry.viewer_id,
                lambda seq: msgspec.structs.replace(entry, seq=seq),
                private_to(entry.viewer_id),
            )
        else:
            public = self._state(why, at)
            self._last = public
            move = ClaimMove(
                "",
                "",
                0,
                "giveaway",
                None,
                lambda seq: msgspec.structs.replace(public, seq=seq),
                None,
            )
        for seq, body, audience in self._records.record_claims([move], at):
            self._publish(seq, body, audience)
