"""Viewers' data in the hub: consent, the staff panel's profile, notes, tags, export, deletion.

The store (:mod:`console.store.profiles`) keeps and forgets by the viewer's consent, as
the retention table (:mod:`console.domain.retention`) says; this module turns the room's
moments into its records (a viewer joins or leaves, a product is pinned, a checkout
starts or completes, the show goes live or ends), applies the table's time limits
(at start, at those moments and from the room's housekeeping), sends viewers the table
with their consent, answers the panel's and the viewer's requests, and logs every staff
view of a profile.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import msgspec

from console import protocol
from console.domain.profile import DELETED_NAME, ProfileRuleError, avatar_initial
from console.domain.retention import SWEEP_SECONDS, table
from console.errors import ProtocolError
from console.protocol import ErrorCode
from console.store.api import Store
from console.store.records import STAFF_AUDIENCE, Actor, Deletion, Published


class ViewerData:
    def __init__(
        self,
        store: Store,
        publish: Callable[[list[Published]], None],
        clock: Callable[[], float],
    ) -> None:
        self.records = store.profiles
        self._store = store
        self._publish = publish
        self._clock = clock
        self._live = False
        self._swept = -math.inf
        self._retention = [
            protocol.RetentionRow(what=r.what, remember=r.remember, without=r.without, why=r.why)
            for r in table()
        ]
        self.records.sign_detached()
        self._sweep()

    # ------------------------------------------------------------ the room's moments

    def stream_started(self) -> None:
        self._live = True
        self.records.stream_started(self._clock())
        self._sweep()

    def stream_ended(self) -> None:
        self._live = False
        self.records.stream_ended(self._clock())
        self._sweep()

    def housekeeping(self) -> None:
        """Apply the retention table's time limits when :data:`SWEEP_SECONDS` have passed."""
        if self._clock() - self._swept >= SWEEP_SECONDS:
            self._sweep()

    def _sweep(self) -> None:
        self._swept = self._clock()
        self.records.sweep(self._swept, live=self._live)

    def joined(self, viewer_id: str) -> None:
        self.records.viewer_joined(viewer_id, self._clock())

    def left(self, viewer_id: str, seconds: float) -> None:
        self.records.record_presence(viewer_id, seconds, self._clock())

    def pinned(self, product_id: str, watching: list[str]) -> None:
        self.records.record_product_view(watching, product_id, self._clock())

    def checkout_started(self, viewer_id: str, product_id: str, sku: str) -> None:
        self.records.checkout_started(viewer_id, product_id, sku, self._clock())

    def bought(self, viewer_id: str, sku: str, order_id: str, email: str) -> None:
        """A paid order: the checkout is complete, and the email may link devices."""
        now = self._clock()
        self.records.checkout_completed(viewer_id, sku, order_id, now)
        link = self.records.link_by_email(viewer_id, email, now)
        if link.merged:
            with self._store.events() as writer:
                event, body = writer.add(
                    "linked",
                    viewer_id,
                    now,
                    lambda seq: protocol.ProfilesLinked(
                        seq=seq, viewer_ids=list(link.viewer_ids), ts=now
                    ),
                    audience=STAFF_AUDIENCE,
                )
            self._publish([(event.seq, body, STAFF_AUDIENCE)])

    # ------------------------------------------------------------ the viewer's choices

    def consent_state(self, viewer_id: str) -> protocol.ConsentState:
        return protocol.ConsentState(
            consent=self.records.consent(viewer_id),
            changed=self.records.consent_changed(viewer_id),
            retention=self._retention,
        )

    def set_consent(self, viewer_id: str, consent: str) -> protocol.ConsentState:
        try:
            self.records.record_consent(viewer_id, consent, self._clock())  # type: ignore[arg-type]
        except ProfileRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        return self.consent_state(viewer_id)

    def export(self, viewer_id: str) -> protocol.DataExport:
        data = self.records.export(viewer_id)
        return protocol.DataExport(viewer_id=viewer_id, data=data)

    def delete(self, viewer_id: str, by: Actor) -> Deletion:
        """Forget the viewer (and every id linked to them); staff hear who asked.

        Everyone hears which comments and orders are signed "deleted viewer" now, so
        open pages and consoles stop showing the name at once, not after a restart.
        """
        now = self._clock()
        if not self.records.known(viewer_id):
            raise ProtocolError(ErrorCode.NOT_FOUND, f"No viewer with id {viewer_id!r}.")
        deletion = self.records.delete(viewer_id, by.name, now)
        with self._store.events() as writer:
            event, body = writer.add(
                "viewer_deleted",
                None,
                now,
                lambda seq: protocol.ViewerDeleted(
                    seq=seq, viewer_id=viewer_id, by=by.name, ts=now
                ),
                audience=STAFF_AUDIENCE,
            )
            erased, erased_body = writer.add(
                "erased",
                None,
                now,
                lambda seq: protocol.Erased(
                    seq=seq,
                    comments=list(deletion.comment_seqs),
                    orders=list(deletion.order_ids),
                    name=DELETED_NAME,
                ),
            )
        self._publish([(event.seq, body, STAFF_AUDIENCE), (erased.seq, erased_body, None)])
        return deletion

    # ------------------------------------------------------------ the staff panel

    def profile(
        self,
        viewer_id: str,
        staff: Actor,
        pinned_product_id: str | None,
        online: bool,
        *,
        log: bool = True,
        live_name: str | None = None,
    ) -> protocol.Profile:
        """The panel's view of a viewer; every look is logged for the host to see.

        A viewer watching now (``online``) is known even with nothing stored about them
        (nothing is, until they act); ``live_name`` is the name their page uses then.
        """
        now = self._clock()
        view = self.records.assemble(
            viewer_id, pinned_product_id=pinned_product_id, now=now, present=online
        )
        if view is None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"No viewer with id {viewer_id!r} was seen here."
            )
        if log:
            self.records.log_view(staff.name, staff.role, viewer_id, now)
        profile = msgspec.convert(
            msgspec.to_builtins(view), protocol.Profile, from_attributes=True, strict=False
        )
        profile.online = online
        if online and not profile.name and live_name:
            profile.name, profile.initial = live_name, avatar_initial(live_name)
        return profile

    def add_note(self, viewer_id: str, author: str, text: str) -> None:
        self._checked(lambda: self.records.add_note(viewer_id, author, text, self._clock()))

    def set_tag(self, viewer_id: str, tag: str, on: bool, author: str) -> None:
        if on:
            self._checked(lambda: self.records.add_tag(viewer_id, tag, author, self._clock()))
        else:
            self.records.remove_tag(viewer_id, tag)

    def unlink(self, viewer_id: str, by: str) -> None:
        if not self.records.unlink(viewer_id, by, self._clock()):
            raise ProtocolError(
                ErrorCode.NOT_FOUND, "This viewer is not linked to a customer; nothing to undo."
            )

    def view_log(self, limit: int, viewer_id: str | None) -> protocol.ViewLog:
        entries = self.records.view_log(max(1, min(limit, 10_000)), viewer_id)
        return protocol.ViewLog(
            entries=[
                protocol.ViewLogEntry(ts=e.ts, staff=e.staff, role=e.role, viewer_id=e.viewer_id)
                for e in entries
            ]
        )

    @staticmethod
    def _checked(step: Callable[[], object]) -> None:
        try:
            step()
        except ProfileRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
