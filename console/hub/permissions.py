"""Which role may send which command: one table, checked for every message.

The hub refuses anything not in the table for the sender's role with ``forbidden``
before the command touches the store, so a refused command changes nothing. A new
client message type must be added here, or nobody may send it (and the permission
test fails until it is).
"""

from __future__ import annotations

from typing import Final

from console import protocol
from console.errors import ProtocolError
from console.protocol import ErrorCode

_ALL: Final = frozenset(protocol.ROLES)
_STAFF: Final = frozenset(protocol.STAFF_ROLES)
_VIEWER: Final = frozenset({"viewer"})
_HOST: Final = frozenset({"host"})
_MODERATORS: Final = frozenset({"moderator", "host"})
_AGENTS: Final = frozenset({"agent", "host"})
#: A viewer asks for (or deletes) their own data; the host for anyone's, at their request.
_SELF_OR_HOST: Final = frozenset({"viewer", "host"})
#: Agents look up a buyer's orders to answer "where is my parcel?"; moderators need not.
_ORDERS: Final = frozenset({"agent", "host"})

PERMISSIONS: Final[dict[type, frozenset[str]]] = {
    protocol.Hello: _ALL,
    protocol.SendComment: _ALL,
    protocol.SetName: _VIEWER,
    protocol.GetProfile: _STAFF,
    protocol.GetCatalogue: _ALL,
    protocol.WebRTCOffer: _ALL,
    # Watching through the SFU: the hub brokers the page's subscription.
    protocol.Watch: _ALL,
    protocol.WatchAnswer: _ALL,
    # Only a page that plays the video reports what its viewer sees.
    protocol.PlayoutReport: _VIEWER,
    protocol.ClockRequest: _ALL,
    # What a shopper does on the page, for the team's funnel.
    protocol.Browse: _VIEWER,
    protocol.JoinWaitlist: _VIEWER,
    protocol.LeaveWaitlist: _VIEWER,
    protocol.ReleaseClaim: _VIEWER,
    protocol.CheckoutClosed: _VIEWER,
    protocol.GetQuote: _ALL,
    protocol.Buy: _VIEWER,
    protocol.PlaceBid: _VIEWER,
    protocol.EnterGiveaway: _VIEWER,
    protocol.SubmitReview: _VIEWER,
    # Running the show
    protocol.Pin: _HOST,
    protocol.Unpin: _HOST,
    protocol.SetShelf: _HOST,
    protocol.StartDeal: _HOST,
    protocol.EndDeal: _HOST,
    protocol.Feature: _HOST,
    protocol.UpdateVariant: _HOST,
    protocol.SetClaims: _HOST,
    protocol.StartAuction: _HOST,
    protocol.CancelAuction: _HOST,
    protocol.StartGiveaway: _HOST,
    protocol.DrawGiveaway: _HOST,
    protocol.CancelGiveaway: _HOST,
    protocol.ImportCatalogue: _HOST,
    protocol.GetOrders: _ORDERS,
    # The team
    protocol.CreateInvite: _HOST,
    protocol.GetStaff: _HOST,
    protocol.RevokeStaff: _HOST,
    protocol.ReplaceHostToken: _HOST,
    # Moderation
    protocol.DeleteComment: _MODERATORS,
    protocol.TimeoutViewer: _MODERATORS,
    protocol.BanViewer: _MODERATORS,
    protocol.UnbanViewer: _MODERATORS,
    protocol.SetModes: _MODERATORS,
    protocol.SetTerms: _MODERATORS,
    protocol.ResolveHeld: _MODERATORS,
    protocol.GetTerms: _STAFF,
    protocol.GetModLog: _STAFF,
    # The question queue
    protocol.ClaimQuestion: _AGENTS,
    protocol.ReleaseQuestion: _AGENTS,
    protocol.AnswerQuestion: _AGENTS,
    protocol.FinishQuestion: _AGENTS,
    protocol.GetQuestions: _STAFF,
    protocol.GetSuggestions: _AGENTS,
    protocol.SetCanned: _AGENTS,
    # Viewers' data: their own choice and copy; staff notes and tags; the host's log
    protocol.SetConsent: _VIEWER,
    protocol.ExportData: _SELF_OR_HOST,
    protocol.DeleteData: _SELF_OR_HOST,
    protocol.AddNote: _STAFF,
    protocol.SetTag: _STAFF,
    protocol.Unlink: _STAFF,
    protocol.GetViewers: _STAFF,
    protocol.GetViewLog: _HOST,
}

_WHO: Final = {
    _VIEWER: "viewers",
    _HOST: "the host",
    _MODERATORS: "moderators and the host",
    _AGENTS: "agents and the host",
    _STAFF: "staff",
    _SELF_OR_HOST: "the viewer themselves and the host",
}


def check_permission(role: str, message: protocol.ClientMessage) -> None:
    """Raise ``forbidden`` unless ``role`` may send ``message``."""
    allowed = PERMISSIONS.get(type(message), frozenset())
    if role in allowed:
        return
    who = _WHO.get(allowed, "nobody")
    tag = type(message).__struct_config__.tag
    raise ProtocolError(
        ErrorCode.FORBIDDEN,
        f"{'An' if role[:1] in 'aeiou' else 'A'} {role} may not send {tag!r}; only {who} "
        "may. Ask the host for the right role.",
    )
