"""The team's records: staff tokens, sanctions, the mod log, held comments, room settings
and the question queue, in the same SQLite file as the room.

Every moderation action is written in the transaction that stores its events, before
the hub applies it: what the mod log says happened is what happened, also after a
crash. Each method returns the events it stored with their audience, for the hub to
publish in order.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from console import protocol
from console.errors import StoreError
from console.store.commerce import write_review
from console.store.records import (
    HUB,
    STAFF_AUDIENCE,
    Actor,
    HeldComment,
    Published,
    QuestionMovedError,
    Sanction,
    owner_review,
    private_audience,
)

#: The data folder's host token (console.hub.auth) is the one host token without an
#: expiry: invitations, co-hosts' too, always expire.
_HOST_TOKEN = "role = 'host' AND expires IS NULL"

_MOD_COLUMNS = (
    "seq, id, ts, action, actor, actor_role, viewer_id, name, comment_seq, text, reason, until"
)
_QUESTION_COLUMNS = "id, viewer_id, name, text, grp, ts, claimed_by, claimed_at, answered_at, done"

if TYPE_CHECKING:
    from console.store.database import Database
    from console.store.sqlite import EventWriter, Store


def _mod_entry(row: Sequence[Any]) -> protocol.ModEntry:
    return protocol.ModEntry(*row)


def _question(row: Sequence[Any], seq: int = 0) -> protocol.QuestionState:
    qid, viewer_id, name, text, group, ts, claimed_by, claimed_at, answered_at, done = row
    return protocol.QuestionState(
        seq=seq,
        id=qid,
        viewer_id=viewer_id,
        name=name,
        text=text,
        ts=ts,
        group=group,
        claimed_by=claimed_by,
        claimed_at=claimed_at,
        answered_at=answered_at,
        done=bool(done),
    )


def _as_known(was: protocol.QuestionState) -> tuple[str, tuple[Any, ...]]:
    """A condition (and its parameters) true of a question row whose claim, first answer
    and done are as ``was`` has them.

    A column ``was`` has empty is compared with ``IS NULL``: ``= NULL`` is never true,
    and the null-safe ``=`` is spelt differently on the two engines (SQLite's ``IS``,
    PostgreSQL's ``IS NOT DISTINCT FROM``), so the comparison is chosen per column here.
    """
    known = {
        "claimed_by": was.claimed_by,
        "claimed_at": was.claimed_at,
        "answered_at": was.answered_at,
        "done": was.done,
    }
    terms = [f"{column} IS NULL" if v is None else f"{column} = ?" for column, v in known.items()]
    return " AND ".join(terms), tuple(v for v in known.values() if v is not None)


def _unfeature_in_history(writer: EventWriter, seq: int) -> None:
    """Stored show states that featured comment ``seq`` replay without it.

    Only events after the comment can feature it, so the scan starts there (by key).
    """
    rows = writer.db.execute(
        "SELECT seq, body FROM events WHERE seq > ? AND type = 'show' "
        "AND CAST(body AS TEXT) LIKE ?",
        (seq, f'%"comment_seq":{seq}%'),
    ).fetchall()
    for event_seq, body in rows:
        show = msgspec.json.decode(bytes(body), type=protocol.ShowState)
        if show.featured is not None and show.featured.comment_seq == seq:
            show.featured = None
            writer.db.execute(
                "UPDATE events SET body = ? WHERE seq = ?", (protocol.encode(show), event_seq)
            )


class TeamRecords:
    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def _db(self) -> Database:
        return self._store.db

    # ------------------------------------------------------------ staff

    def staff_members(self) -> list[protocol.StaffMember]:
        """Everyone invited, and the host token in use (replaced ones were never people)."""
        rows = self._db.execute(
            "SELECT substr(token_hash, 1, 16), name, role, created, expires, revoked "
            f"FROM staff_tokens WHERE NOT ({_HOST_TOKEN} AND revoked IS NOT NULL) "
            "ORDER BY created"
        ).fetchall()
        return [protocol.StaffMember(*row) for row in rows]

    def is_host_token(self, staff_id: str) -> bool:
        """Whether ``staff_id`` is the host token in use (stored, unrevoked, unexpiring)."""
        row = self._db.execute(
            f"SELECT 1 FROM staff_tokens WHERE substr(token_hash, 1, 16) = ? AND {_HOST_TOKEN} "
            "AND revoked IS NULL",
            (staff_id,),
        ).fetchone()
        return row is not None

    def has_host_token(self) -> bool:
        """Whether any host token is in use."""
        row = self._db.execute(
            f"SELECT 1 FROM staff_tokens WHERE {_HOST_TOKEN} AND revoked IS NULL LIMIT 1"
        ).fetchone()
        return row is not None

    def keep_host_token(self, token_hash: str, name: str, now: float) -> list[str]:
        """Make ``token_hash`` the one host token, storing it if new; return the ids of
        the host tokens this revoked, in one transaction."""
        with self._store.db.transaction() as db:
            others = f"{_HOST_TOKEN} AND revoked IS NULL AND token_hash != ?"
            revoked = [
                row[0]
                for row in db.execute(
                    f"SELECT substr(token_hash, 1, 16) FROM staff_tokens WHERE {others}",
                    (token_hash,),
                )
            ]
            db.execute(f"UPDATE staff_tokens SET revoked = ? WHERE {others}", (now, token_hash))
            db.execute(
                "INSERT INTO staff_tokens (token_hash, role, name, created) "
                "VALUES (?, 'host', ?, ?) ON CONFLICT DO NOTHING",
                (token_hash, name, now),
            )
        return revoked

    def revoke(self, staff_id: str, now: float) -> bool:
        """Revoke the token whose id is ``staff_id``; False when there is none."""
        with self._store.db.transaction() as db:
            cur = db.execute(
                "UPDATE staff_tokens SET revoked = COALESCE(revoked, ?) "
                "WHERE substr(token_hash, 1, 16) = ?",
                (now, staff_id),
            )
            return cur.rowcount > 0

    # ------------------------------------------------------------ sanctions

    def sanctions(self) -> dict[str, Sanction]:
        """Every viewer with a ban or a time-out, for the hub to keep in memory."""
        rows = self._db.execute(
            "SELECT viewer_id, banned, muted_until, reason FROM sanctions "
            "WHERE banned != 0 OR muted_until IS NOT NULL"
        ).fetchall()
        return {v: Sanction(bool(b), m, r) for v, b, m, r in rows}

    def sanction(
        self,
        viewer_id: str,
        name: str,
        action: protocol.ModAction,
        until: float | None,
        actor: Actor,
        reason: str,
        now: float,
    ) -> tuple[Sanction, list[Published]]:
        """Ban, time out or lift both; stored with its mod-log entry in one transaction."""
        sanction = Sanction(action == "ban", until if action == "timeout" else None, reason)
        with self._store.events() as writer:
            writer.db.execute(
                "INSERT INTO sanctions (viewer_id, banned, muted_until, reason, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (viewer_id) DO UPDATE SET "
                "banned = excluded.banned, muted_until = excluded.muted_until, "
                "reason = excluded.reason, updated = excluded.updated",
                (viewer_id, sanction.banned, sanction.muted_until, reason, now),
            )
            published = [
                self._log(writer, action, actor, now, viewer_id, name, reason=reason, until=until)
            ]
        return sanction, published

    # ------------------------------------------------------------ comments

    def delete_comment(
        self, comment: protocol.Comment, actor: Actor, reason: str, now: float
    ) -> list[Published]:
        """Hide a comment from everyone; the mod log keeps its text."""
        with self._store.events() as writer:
            writer.db.execute(
                "UPDATE comments SET deleted = ? WHERE seq = ? AND deleted IS NULL",
                (now, comment.seq),
            )
            # Replays (a page that joins or reconnects) must never carry the deleted
            # text: the comment's own event becomes a deletion of itself. The text stays
            # in the comments table and in the mod log.
            tombstone = protocol.CommentDeleted(
                seq=comment.seq, target=comment.seq, viewer_id=comment.viewer_id
            )
            writer.db.execute(
                "UPDATE events SET type = 'deleted', body = ? WHERE seq = ?",
                (protocol.encode(tombstone), comment.seq),
            )
            _unfeature_in_history(writer, comment.seq)
            deleted, body = writer.add(
                "delete",
                comment.viewer_id,
                now,
                lambda seq: protocol.CommentDeleted(
                    seq=seq, target=comment.seq, viewer_id=comment.viewer_id
                ),
            )
            entry = self._log(
                writer,
                "delete",
                actor,
                now,
                comment.viewer_id,
                comment.name,
                comment_seq=comment.seq,
                text=comment.text,
                reason=reason,
            )
        return [(deleted.seq, body, None), entry]

    def is_deleted(self, seq: int) -> bool:
        row = self._db.execute("SELECT deleted FROM comments WHERE seq = ?", (seq,)).fetchone()
        return row is not None and row[0] is not None

    # ------------------------------------------------------------ held comments

    def hold(
        self,
        viewer_id: str,
        name: str,
        role: protocol.Role,
        text: str,
        rule: str,
        reason: str,
        now: float,
        *,
        product_id: str | None = None,
        rating: int | None = None,
    ) -> list[Published]:
        """Keep a comment (or, with ``product_id``, an owner's review) for review: its
        author and staff see it, nobody else."""
        with self._store.events() as writer:
            new_id = writer.db.insert(
                "INSERT INTO held (viewer_id, name, role, text, rule, reason, ts, product_id, "
                "rating) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (viewer_id, name, role, text, rule, reason, now, product_id, rating),
            )
            held_id = new_id
            held, body = writer.add(
                "held",
                viewer_id,
                now,
                lambda seq: protocol.Held(
                    seq=seq,
                    held_id=held_id,
                    viewer_id=viewer_id,
                    name=name,
                    text=text,
                    ts=now,
                    rule=rule,
                    reason=reason,
                    product_id=product_id,
                    rating=rating,
                ),
                audience=private_audience(viewer_id),
            )
            entry = self._log(writer, "hold", HUB, now, viewer_id, name, text=text, reason=reason)
        return [(held.seq, body, private_audience(viewer_id)), entry]

    def refuse(
        self, viewer_id: str, name: str, text: str, reason: str, now: float
    ) -> list[Published]:
        """A comment refused for a term set to "delete": only the mod log keeps it."""
        with self._store.events() as writer:
            return [
                self._log(
                    writer, "auto_delete", HUB, now, viewer_id, name, text=text, reason=reason
                )
            ]

    def held(self, held_id: int) -> HeldComment | None:
        row = self._db.execute(
            "SELECT id, viewer_id, name, role, text, status, product_id, rating FROM held "
            "WHERE id = ?",
            (held_id,),
        ).fetchone()
        return HeldComment(*row) if row else None

    def waiting(self) -> list[protocol.Held]:
        """Held comments nobody has approved or denied yet, oldest first."""
        rows = self._db.execute(
            "SELECT id, viewer_id, name, text, ts, rule, reason, product_id, rating FROM held "
            "WHERE status = 'held' ORDER BY id"
        ).fetchall()
        return [
            protocol.Held(
                seq=0,
                held_id=i,
                viewer_id=v,
                name=n,
                text=t,
                ts=ts,
                rule=ru,
                reason=re,
                product_id=p,
                rating=r,
            )
            for i, v, n, t, ts, ru, re, p, r in rows
        ]

    def resolve_held(
        self,
        held: HeldComment,
        approve: bool,
        actor: Actor,
        reason: str,
        now: float,
        owner: bool,
    ) -> list[Published]:
        """Publish (approve) or drop (deny) a held comment or review, with its mod-log entry."""
        published: list[Published] = []
        with self._store.events() as writer:
            comment_seq: int | None = None
            if approve and held.product_id is not None and held.rating is not None:
                review = owner_review(
                    "r-" + secrets.token_hex(6), held.name, held.rating, held.text, now
                )
                added, body = write_review(writer, held.product_id, held.viewer_id, review, now)
                published.append((added.seq, body, None))
            elif approve:
                comment, body = self._store.write_comment(
                    writer, held.viewer_id, held.name, held.role, held.text, now, owner
                )
                comment_seq = comment.seq
                published.append((comment.seq, body, None))
            writer.db.execute(
                "UPDATE held SET status = ?, comment_seq = ? WHERE id = ?",
                ("approved" if approve else "denied", comment_seq, held.id),
            )
            audience = private_audience(held.viewer_id)
            resolved, body = writer.add(
                "held_resolved",
                held.viewer_id,
                now,
                lambda seq: protocol.HeldResolved(
                    seq=seq,
                    held_id=held.id,
                    viewer_id=held.viewer_id,
                    approved=approve,
                    comment_seq=comment_seq,
                ),
                audience=audience,
            )
            published.append((resolved.seq, body, audience))
            published.append(
                self._log(
                    writer,
                    "approve" if approve else "deny",
                    actor,
                    now,
                    held.viewer_id,
                    held.name,
                    comment_seq=comment_seq,
                    text=held.text,
                    reason=reason,
                )
            )
        return published

    # ------------------------------------------------------------ settings

    def setting(self, key: str, kind: type[Any]) -> Any | None:
        row = self._db.execute("SELECT body FROM room_settings WHERE key = ?", (key,)).fetchone()
        return msgspec.json.decode(bytes(row[0]), type=kind) if row else None

    def put_setting(
        self,
        key: str,
        value: msgspec.Struct,
        actor: Actor,
        now: float,
        action: protocol.ModAction | None = None,
        summary: str = "",
        event: protocol.Modes | None = None,
    ) -> list[Published]:
        """Store a room setting; modes and terms changes go to the mod log, canned text not."""
        published: list[Published] = []
        with self._store.events() as writer:
            writer.db.execute(
                "INSERT INTO room_settings (key, body) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET body = excluded.body",
                (key, msgspec.json.encode(value)),
            )
            if event is not None:
                modes, body = writer.add(
                    "modes", None, now, lambda seq: msgspec.structs.replace(event, seq=seq)
                )
                published.append((modes.seq, body, None))
            if action is not None:
                published.append(self._log(writer, action, actor, now, text=summary))
        return published

    # ------------------------------------------------------------ the mod log

    def _log(
        self,
        writer: EventWriter,
        action: protocol.ModAction,
        actor: Actor,
        now: float,
        viewer_id: str = "",
        name: str = "",
        *,
        comment_seq: int | None = None,
        text: str = "",
        reason: str = "",
        until: float | None = None,
    ) -> Published:
        new_id = writer.db.insert(
            "INSERT INTO mod_actions (seq, ts, action, actor, actor_role, viewer_id, name, "
            "comment_seq, text, reason, until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                writer.seq + 1,
                now,
                action,
                actor.name,
                actor.role,
                viewer_id,
                name,
                comment_seq,
                text,
                reason,
                until,
            ),
        )
        entry_id = new_id
        entry, body = writer.add(
            "mod",
            viewer_id or None,
            now,
            lambda seq: protocol.ModEntry(
                seq=seq,
                id=entry_id,
                ts=now,
                action=action,
                actor=actor.name,
                actor_role=actor.role,
                viewer_id=viewer_id,
                name=name,
                comment_seq=comment_seq,
                text=text,
                reason=reason,
                until=until,
            ),
            audience=STAFF_AUDIENCE,
        )
        return entry.seq, body, STAFF_AUDIENCE

    def log_action(
        self,
        action: protocol.ModAction,
        actor: Actor,
        now: float,
        viewer_id: str = "",
        name: str = "",
        *,
        text: str = "",
    ) -> Published:
        """A line in the mod log for an action recorded elsewhere (a giveaway's draw)."""
        with self._store.events() as writer:
            return self._log(writer, action, actor, now, viewer_id, name, text=text)

    def mod_log(
        self, limit: int, action: str | None = None, viewer_id: str | None = None
    ) -> list[protocol.ModEntry]:
        """Newest first, optionally one kind of action or one viewer's."""
        where, args = [], []
        if action:
            where.append("action = ?")
            args.append(action)
        if viewer_id:
            where.append("viewer_id = ?")
            args.append(viewer_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._db.execute(
            f"SELECT {_MOD_COLUMNS} FROM mod_actions{clause} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [_mod_entry(r) for r in rows]

    # ------------------------------------------------------------ questions

    def add_question(
        self, comment: protocol.Comment, group: str
    ) -> tuple[protocol.QuestionState, Published]:
        with self._store.events() as writer:
            writer.db.execute(
                "INSERT INTO questions (id, viewer_id, name, text, grp, ts) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (comment.seq, comment.viewer_id, comment.name, comment.text, group, comment.ts),
            )
            return self._question_event(writer, comment.seq, comment.ts)

    def reply_thread(self, comment: protocol.Comment, group: str) -> protocol.QuestionState:
        """A thread for staff's reply to a comment that was never queued as a question.

        It is stored done and without ``answered_at``: it never shows in the agents'
        queue and never counts in their answer times.
        """
        with self._store.events() as writer:
            writer.db.execute(
                "INSERT INTO questions (id, viewer_id, name, text, grp, ts, done) "
                "VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT DO NOTHING",
                (comment.seq, comment.viewer_id, comment.name, comment.text, group, comment.ts),
            )
        return protocol.QuestionState(
            seq=0,
            id=comment.seq,
            viewer_id=comment.viewer_id,
            name=comment.name,
            text=comment.text,
            ts=comment.ts,
            group=group,
            done=True,
        )

    def update_question(
        self,
        was: protocol.QuestionState,
        now: float,
        *,
        claimed_by: str | None,
        claimed_at: float | None,
        answered_at: float | None,
        done: bool,
    ) -> tuple[protocol.QuestionState, Published]:
        """Store a change of the question decided from ``was``, only if the stored row is
        still as ``was`` has it (its claim, first answer and done); else
        :class:`QuestionMovedError` says how it stands: hubs that act on one question at
        once store one change, and the other learns what it lost to."""
        matches, known = _as_known(was)
        with self._store.events() as writer:
            cur = writer.db.execute(
                "UPDATE questions SET claimed_by = ?, claimed_at = ?, answered_at = ?, done = ? "
                f"WHERE id = ? AND {matches}",
                (claimed_by, claimed_at, answered_at, done, was.id, *known),
            )
            if cur.rowcount != 1:
                stored = self._stored_question(writer.db, was.id)
                if stored is None:
                    raise StoreError(
                        f"Question #{was.id} is not in the store; reload the question queue."
                    )
                raise QuestionMovedError(stored)
            return self._question_event(writer, was.id, now)

    def question(self, question_id: int) -> protocol.QuestionState | None:
        """The question as stored now (``seq`` 0: it is no event)."""
        return self._stored_question(self._db, question_id)

    @staticmethod
    def _stored_question(db: Database, question_id: int) -> protocol.QuestionState | None:
        row = db.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE id = ?", (question_id,)
        ).fetchone()
        return None if row is None else _question(row)

    def _question_event(
        self, writer: EventWriter, question_id: int, now: float
    ) -> tuple[protocol.QuestionState, Published]:
        row = writer.db.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE id = ?", (question_id,)
        ).fetchone()
        state, body = writer.add(
            "question",
            row[1],
            now,
            lambda seq: _question(row, seq),
            audience=STAFF_AUDIENCE,
        )
        return state, (state.seq, body, STAFF_AUDIENCE)

    def add_answer(
        self, question: protocol.QuestionState, agent: str, text: str, private: bool, now: float
    ) -> Published:
        audience = private_audience(question.viewer_id) if private else None
        with self._store.events() as writer:
            writer.db.execute(
                "INSERT INTO answers (question, agent, text, private, ts) VALUES (?, ?, ?, ?, ?)",
                (question.id, agent, text, private, now),
            )
            answer, body = writer.add(
                "answer",
                question.viewer_id,
                now,
                lambda seq: protocol.Answer(
                    seq=seq,
                    question=question.id,
                    question_text=question.text,
                    viewer_id=question.viewer_id,
                    name=question.name,
                    agent=agent,
                    text=text,
                    ts=now,
                    private=private,
                ),
                audience=audience,
            )
        return answer.seq, body, audience

    def questions(
        self, include_done: bool = False, limit: int = 1000
    ) -> list[protocol.QuestionState]:
        """Questions oldest first (the open ones, unless ``include_done``)."""
        where = "" if include_done else " WHERE done = 0"
        rows = self._db.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM (SELECT * FROM questions{where} "
            "ORDER BY id DESC LIMIT ?) AS latest ORDER BY id",
            (limit,),
        ).fetchall()
        return [_question(r) for r in rows]

    def answered_questions(self, limit: int = 1000) -> list[protocol.QuestionState]:
        rows = self._db.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM (SELECT * FROM questions "
            "WHERE answered_at IS NOT NULL ORDER BY answered_at DESC, id DESC LIMIT ?) "
            "AS latest ORDER BY answered_at, id",
            (limit,),
        ).fetchall()
        return [_question(r) for r in rows]
