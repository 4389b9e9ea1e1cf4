"""Giveaways, in the hub: the host opens one, viewers enter, the hub draws a checkable winner.

The room core decides (:mod:`console.room.giveaways`, on the rules of
:mod:`console.domain.giveaway`); this shell brings what the core must not make itself: the
random seed and id (``secrets``), the hub's clock, who commented or bought during this
show, and bans, and it carries out the decision. The seed's SHA-256 goes out in the public
``giveaway`` event at the start; the seed stays in this process until the draw reveals it
with the entries, so every page can recompute the winner. Entries are logged as private
``giveaway_entry`` events (the entrant and staff), the rest as public ``giveaway`` events.
The desk folds every one of them, its own as it stores them and every hub's from the feed,
so a viewer may enter through any hub. The seed is never stored before the draw, so only
the hub that started a giveaway can draw it, and not once restarted; the host cancels that
giveaway and starts another.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import msgspec

from console import protocol
from console.domain import giveaway as rules
from console.hub.fanout import private_to
from console.room.decision import AddEntry, AnnounceGiveaway, Decision, LogGiveaway, Refuse
from console.room.giveaways import (
    Entrant,
    GiveawayState,
    decide_cancel,
    decide_draw,
    decide_enter,
    decide_start,
    giveaway_event,
    is_keyword_entry,
)
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
        self.state = GiveawayState()
        #: The giveaway this hub started and the seed it keeps back until the draw.
        self._seed: tuple[str, bytes] | None = None
        #: Viewers who commented while this hub ran (``commented`` giveaways): comments
        #: through other hubs do not count here, as before the room core.
        self._commented: set[str] = set()

    # ------------------------------------------------------------ state

    def resume(self) -> None:
        """Fold the room's giveaway events from the log, once, when the hub starts; the
        feed brings every later one (:meth:`follow`)."""
        self.state = GiveawayState.from_events(self._records.giveaway_log(), self.state)

    def follow(self, seq: int, body: bytes) -> None:
        """A committed event, once the feed has it in seq order (another hub's, or this
        desk's own coming back); every kind but the giveaway's two is ignored.

        The events carry the giveaway and each entrant, so the store is not read.
        """
        try:
            event = giveaway_event(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            log.exception("giveaway event %s does not apply; the giveaway is left as it was", seq)
            return
        if event is not None:
            self.state = self.state.apply(event)

    def current(self) -> protocol.GiveawayState | None:
        """The giveaway for a page or console that joins (``seq`` 0)."""
        return self.state.current()

    def own_entry(self, viewer_id: str | None) -> protocol.GiveawayEntry | None:
        return self.state.own_entry(viewer_id)

    # ------------------------------------------------------------ the host

    def start(self, message: protocol.StartGiveaway) -> None:
        seed = secrets.token_bytes(rules.SEED_BYTES)
        giveaway_id = "G-" + secrets.token_hex(4).upper()
        decision = decide_start(message, self.state, giveaway_id, seed, self._clock())
        if not isinstance(decision.reply, Refuse):
            self._seed = (giveaway_id, seed)
        self._carry_out(decision, None)

    def draw(self, actor: Actor) -> None:
        giveaway, kept = self.state.giveaway, self._seed
        mine = kept is not None and giveaway is not None and kept[0] == giveaway.id
        seed = kept[1] if kept is not None and mine else None
        decision = decide_draw(self.state, seed, self._clock())
        self._carry_out(decision, actor)
        self._seed = None
        drawn = self.state.giveaway
        assert drawn is not None
        log.info("giveaway %s drawn among %d entrants", drawn.id, len(drawn.entrants))

    def cancel(self, actor: Actor) -> None:
        self._carry_out(decide_cancel(self.state, self._clock()), actor)
        self._seed = None

    # ------------------------------------------------------------ viewers

    def enter(self, viewer_id: str, name: str, giveaway_id: str | None = None) -> None:
        decision = decide_enter(
            self._entrant(viewer_id, name), giveaway_id, self.state, self._clock()
        )
        self._carry_out(decision, None)

    def consider(self, viewer_id: str, name: str, text: str) -> None:
        """A published comment: it counts for ``commented``, and the keyword enters."""
        self._commented.add(viewer_id)
        now = self._clock()
        if not is_keyword_entry(text, self.state, now):
            return
        decision = decide_enter(self._entrant(viewer_id, name), None, self.state, now)
        if isinstance(decision.reply, Refuse):
            log.info("keyword entry of %s refused: %s", viewer_id, decision.reply.error())
            return
        self._carry_out(decision, None)

    def _entrant(self, viewer_id: str, name: str) -> Entrant:
        return Entrant(
            viewer_id,
            name,
            commented=viewer_id in self._commented,
            bought=self._is_buyer(viewer_id),
            banned=self._is_banned(viewer_id),
        )

    # ------------------------------------------------------------ store

    def _carry_out(self, decision: Decision, actor: Actor | None) -> None:
        """Store and publish each step, folding each giveaway event as it is stored, then
        raise a refusal for the sender."""
        if isinstance(decision.reply, Refuse):
            raise decision.reply.error()
        for step in decision.append:
            match step:
                case AnnounceGiveaway(event=event):
                    self._record(event, "giveaway", None, None)
                case AddEntry(entry=entry):
                    self._record(
                        entry, "giveaway_entry", entry.viewer_id, private_to(entry.viewer_id)
                    )
                case LogGiveaway():
                    assert actor is not None, "the mod log names who acted"
                    seq, body, audience = self._team.log_action(
                        "giveaway", actor, step.ts, step.viewer_id, step.name, text=step.text
                    )
                    self._publish(seq, body, audience)

    def _record(
        self,
        event: protocol.GiveawayState | protocol.GiveawayEntry,
        kind: str,
        viewer_id: str | None,
        audience: str | None,
    ) -> None:
        stored: list[protocol.GiveawayState | protocol.GiveawayEntry] = []

        def make(seq: int) -> protocol.GiveawayState | protocol.GiveawayEntry:
            stored.append(msgspec.structs.replace(event, seq=seq))
            return stored[-1]

        move = ClaimMove("", "", 0, kind, viewer_id, make, audience)
        published = self._records.record_claims([move], event.at)
        if stored:
            self.state = self.state.apply(stored[-1])
        for seq, body, published_to in published:
            self._publish(seq, body, published_to)
