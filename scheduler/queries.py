"""Every SQL statement the reminders worker runs, in one place.

Built with SQLAlchemy Core so one definition serves PostgreSQL (several workers, row locks) and
SQLite (one writer). The functions take a Session and never commit: the caller owns the
transaction, which is what makes "claim, then commit, then call the network" visible in
dispatch.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Select, Table, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningUpdate

from scheduler.models import Base, User

reminders: Table = Base.metadata.tables["reminders"]
users: Table = Base.metadata.tables["users"]
deliveries: Table = Base.metadata.tables["deliveries"]

# Spelled exactly like the predicate of the partial index ix_reminders_due. SQLite uses a partial
# index only when the query repeats its WHERE terms literally, and SQLAlchemy would otherwise
# render the booleans as `enabled = 1 AND paused = 0` there, which makes the due query a full scan.
LIVE = text("reminders.enabled AND NOT reminders.paused")

SENDING = "sending"  # written just before the send; a worker that dies leaves it behind
RETRYING = "retrying"  # a transient failure; the reminder is back in the queue for its next attempt
OPEN_STATUSES = (SENDING, RETRYING)
# A device reminder on its way (scheduler/placements.py): Alexa took the skill message, the skill
# is placing it, or placing it failed; whichever is left at the fire time becomes a notification.
MESSAGED = "messaged"
PLACING = "placing"
UNPLACED = "unplaced"
AWAITING_STATUSES = (MESSAGED, PLACING, UNPLACED)
UNFINISHED_STATUSES = (*OPEN_STATUSES, *AWAITING_STATUSES)
# On the device: final once its fire time has come.
PLACED = "placed"
# A placed (or awaiting) occurrence the user changed before it fired, or deleted in the Alexa app.
REMOVED, SKIPPED, PAUSED, MOVED = "removed", "skipped", "paused", "moved"
FINAL_STATUSES = frozenset(
    {"sent", "duplicate", "missed", "rejected", "forbidden", "failed", REMOVED, SKIPPED, PAUSED, MOVED}
)


@dataclass(frozen=True)
class Claimed:
    """A reminder this worker holds until ``lease_until``; ``occurrence_at`` is the one to deliver."""

    id: int
    user_id: int
    kind: str
    local_time: time
    time_zone: str
    days: int
    occurrence_at: datetime
    token: str
    lease_until: datetime


@dataclass(frozen=True)
class ReminderState:
    """A claimed reminder as it is now (the user may have paused, cancelled or left since the claim),
    with what delivering it needs to know about its user."""

    enabled: bool
    paused: bool
    lease_token: str | None
    can_deliver: bool
    alexa_user_id: str
    locale: str
    can_notify: bool = False
    places: bool = False  # the user granted the reminders permission: the device says it


@dataclass(frozen=True)
class FinalStatus:
    """The status of one occurrence after a send (final, or RETRYING), for finish_deliveries."""

    reminder_id: int
    occurrence_at: datetime
    status: str
    attempts: int
    detail: str | None


@dataclass(frozen=True)
class Retry:
    """A claimed reminder handed back after a transient failure, due again at ``at``."""

    reminder_id: int
    token: str
    at: datetime


@dataclass(frozen=True)
class DeliveryState:
    inserted: bool  # False: a row for this occurrence already existed
    status: str
    attempts: int
    channel: str = ""


def rowcount(result: Any) -> int:
    """How many rows a DML statement changed."""
    return cast(CursorResult[Any], result).rowcount


# -- claim -------------------------------------------------------------------------------------


def due_ids(now: datetime, limit: int) -> Select[tuple[int]]:
    """The ids of the reminders due at ``now``, oldest first, skipping rows other workers hold.

    ``FOR UPDATE SKIP LOCKED`` is rendered on PostgreSQL only; SQLite has a single writer anyway.
    """
    return (
        select(reminders.c.id)
        .where(LIVE, reminders.c.visible_at <= now)
        .order_by(reminders.c.visible_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def explain_due(connection: Connection, now: datetime, limit: int) -> list[str]:
    """The backend's plan for the due query (EXPLAIN, not run), to check it uses ix_reminders_due."""
    sql = str(due_ids(now, limit).compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        return [str(row[3]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    return [str(row[0]) for row in connection.exec_driver_sql("EXPLAIN " + sql)]


def claim_statement(
    *, now: datetime, lease_until: datetime, worker: str, token: str, limit: int
) -> ReturningUpdate[Any]:
    """ONE statement: lease up to ``limit`` due reminders and return what delivering them needs.

    Pushing ``visible_at`` to the lease expiry is the claim: the row drops out of the due query
    until then, so a worker that dies holding it needs no clean-up.
    """
    return (
        update(reminders)
        .where(reminders.c.id.in_(due_ids(now, limit)))
        .values(visible_at=lease_until, lease_owner=worker, lease_token=token)
        .returning(
            reminders.c.id,
            reminders.c.user_id,
            reminders.c.kind,
            reminders.c.local_time,
            reminders.c.time_zone,
            reminders.c.days,
            reminders.c.next_fire_at,
        )
    )


def claim(session: Session, *, now: datetime, lease: timedelta, worker: str, limit: int) -> list[Claimed]:
    """Claim a batch under one fresh token; commit before sending anything."""
    token = str(uuid.uuid4())
    lease_until = now + lease
    rows = session.execute(
        claim_statement(now=now, lease_until=lease_until, worker=worker, token=token, limit=limit)
    ).all()
    claimed = [
        Claimed(
            id=row.id,
            user_id=row.user_id,
            kind=row.kind,
            local_time=row.local_time,
            time_zone=row.time_zone,
            days=row.days,
            occurrence_at=row.next_fire_at,
            token=token,
            lease_until=lease_until,
        )
        for row in rows
    ]
    # RETURNING comes back in no particular order; the oldest occurrences go out first.
    claimed.sort(key=lambda c: (c.occurrence_at, c.id))
    return claimed


def lock_claims(session: Session, reminder_ids: Collection[int], token: str) -> None:
    """Order this transaction with ReminderService.forget_user (and cancels) before reading states.

    PostgreSQL: ``claimed_states`` locks the rows (FOR UPDATE) until commit. SQLite has one writer,
    but a transaction there takes the write lock only at its first write, so reads made before it
    could see a state that a concurrent forget_user is about to change. This write (a no-op on our
    own claimed rows) takes the lock first; it does so even when no row matches.
    """
    if session.get_bind().dialect.name == "sqlite" and reminder_ids:
        session.execute(
            update(reminders)
            .where(reminders.c.id.in_(sorted(set(reminder_ids))), reminders.c.lease_token == token)
            .values(lease_owner=reminders.c.lease_owner)
        )


def claimed_states(session: Session, reminder_ids: Collection[int]) -> dict[int, ReminderState]:
    """The claimed reminders' live flags, lease tokens and recipients; deleted ones are absent.

    On PostgreSQL the reminder rows stay locked until the caller commits, so a cancel or a
    forget_user cannot change a reminder between this read and the delivery rows written for it in
    the same transaction: it waits, and then sees those rows.
    """
    if not reminder_ids:
        return {}
    rows = session.execute(
        select(
            reminders.c.id,
            reminders.c.enabled,
            reminders.c.paused,
            reminders.c.lease_token,
            users.c.alexa_user_id,
            users.c.locale,
            User.can_deliver.label("can_deliver"),
            User.can_notify.label("can_notify"),
            users.c.reminders_allowed,
        )
        .join(users, users.c.id == reminders.c.user_id)
        .where(reminders.c.id.in_(sorted(set(reminder_ids))))
        .with_for_update(of=reminders)
    ).all()
    return {
        row.id: ReminderState(
            enabled=bool(row.enabled),
            paused=bool(row.paused),
            lease_token=row.lease_token,
            can_deliver=bool(row.can_deliver),
            alexa_user_id=row.alexa_user_id,
            locale=row.locale,
            can_notify=bool(row.can_notify),
            places=bool(row.reminders_allowed),
        )
        for row in rows
    }


# -- completion --------------------------------------------------------------------------------


def complete(session: Session, *, reminder_id: int, token: str, next_fire_at: datetime) -> bool:
    """Schedule the next occurrence and drop the lease; False if the lease is no longer ours."""
    result = session.execute(
        update(reminders)
        .where(reminders.c.id == reminder_id, reminders.c.lease_token == token)
        .values(next_fire_at=next_fire_at, visible_at=next_fire_at, lease_owner=None, lease_token=None)
    )
    return rowcount(result) == 1


def complete_many(
    session: Session,
    *,
    token: str,
    next_fire_at: Mapping[int, datetime],
    visible_at: Mapping[int, datetime] | None = None,
) -> set[int]:
    """``complete`` for many reminders of one claim; returns the ids whose lease was still ours.

    ``visible_at`` (default: the next occurrence itself) is when each may be claimed again: earlier
    for a device reminder, which is placed ahead of its fire time. One UPDATE ... RETURNING per
    distinct pair: reminders due together usually share the next one too (same wall time
    tomorrow), so a chunk of outcomes costs a statement or two.
    """
    by_time: dict[tuple[datetime, datetime], list[int]] = {}
    for reminder_id, at in next_fire_at.items():
        seen = visible_at.get(reminder_id, at) if visible_at else at
        by_time.setdefault((at, seen), []).append(reminder_id)
    completed: set[int] = set()
    for (at, seen), ids in by_time.items():
        completed.update(
            session.scalars(
                update(reminders)
                .where(reminders.c.id.in_(ids), reminders.c.lease_token == token)
                .values(next_fire_at=at, visible_at=seen, lease_owner=None, lease_token=None)
                .returning(reminders.c.id)
            ).all()
        )
    return completed


def release_many(session: Session, retries: Sequence[Retry]) -> None:
    """Hand claimed reminders back unsent (same occurrence), each due again at its ``at``.

    One executemany; rows whose lease is no longer ours are left alone.
    """
    if not retries:
        return
    session.execute(
        update(reminders)
        .where(reminders.c.id == bindparam("b_id"), reminders.c.lease_token == bindparam("b_token"))
        .values(
            visible_at=bindparam("b_at", type_=reminders.c.visible_at.type),
            lease_owner=None,
            lease_token=None,
        ),
        [{"b_id": r.reminder_id, "b_token": r.token, "b_at": r.at} for r in retries],
    )


# -- delivery log ------------------------------------------------------------------------------


def _insert_ignoring_conflict(session: Session) -> Any:
    """An INSERT into deliveries that skips rows whose occurrence is already logged."""
    dialect = session.get_bind().dialect.name
    keys = [deliveries.c.reminder_id, deliveries.c.occurrence_at]
    if dialect == "postgresql":
        return postgresql.insert(deliveries).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite.insert(deliveries).on_conflict_do_nothing(index_elements=keys)
    raise NotImplementedError(f"no conflict-tolerant insert for {dialect}")  # pragma: no cover


def delivery_row(
    *,
    reminder_id: int,
    user_id: int,
    occurrence_at: datetime,
    status: str,
    channel: str,
    reference_id: str,
    detail: str | None = None,
) -> dict[str, Any]:
    return {
        "reminder_id": reminder_id,
        "user_id": user_id,
        "occurrence_at": occurrence_at,
        "status": status,
        "channel": channel,
        "reference_id": reference_id,
        "attempts": 0,
        "detail": detail,
    }


def logged_deliveries(
    session: Session, keys: Collection[tuple[int, datetime]]
) -> dict[tuple[int, datetime], DeliveryState]:
    """The delivery rows that already exist for these (reminder id, occurrence) pairs."""
    if not keys:
        return {}
    wanted = set(keys)
    rows = session.execute(
        select(
            deliveries.c.reminder_id,
            deliveries.c.occurrence_at,
            deliveries.c.status,
            deliveries.c.attempts,
            deliveries.c.channel,
        ).where(
            # Two IN lists served by the unique index, then an exact match here: portable, unlike
            # row-value IN.
            deliveries.c.reminder_id.in_(sorted({rid for rid, _ in wanted})),
            deliveries.c.occurrence_at.in_(sorted({at for _, at in wanted})),
        )
    ).all()
    return {
        (row.reminder_id, row.occurrence_at): DeliveryState(False, row.status, row.attempts, row.channel)
        for row in rows
        if (row.reminder_id, row.occurrence_at) in wanted
    }


def insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Log many occurrences in one statement per chunk; ones already logged are left as they are."""
    if rows:
        session.execute(_insert_ignoring_conflict(session), rows)


def open_delivery(
    session: Session,
    *,
    reminder_id: int,
    user_id: int,
    occurrence_at: datetime,
    status: str,
    channel: str,
    reference_id: str,
    detail: str | None = None,
) -> DeliveryState:
    """Log one occurrence with ``status`` unless it is already logged; return the row as it is.

    A final status means the occurrence was handled already; 'sending' that we did not insert was
    left by a worker that stopped mid-send.
    """
    row = delivery_row(
        reminder_id=reminder_id,
        user_id=user_id,
        occurrence_at=occurrence_at,
        status=status,
        channel=channel,
        reference_id=reference_id,
        detail=detail,
    )
    # RETURNING rather than rowcount: with the implicit RETURNING SQLAlchemy adds on PostgreSQL,
    # psycopg's rowcount does not say whether the row went in.
    inserted = (
        session.execute(_insert_ignoring_conflict(session).values(**row).returning(deliveries.c.id)).first()
        is not None
    )
    found = session.execute(
        select(deliveries.c.status, deliveries.c.attempts).where(
            deliveries.c.reminder_id == reminder_id, deliveries.c.occurrence_at == occurrence_at
        )
    ).one()
    return DeliveryState(inserted=inserted, status=found.status, attempts=found.attempts)


def finish_delivery(
    session: Session,
    *,
    reminder_id: int,
    occurrence_at: datetime,
    status: str,
    attempts: int,
    detail: str | None,
) -> bool:
    """Move an unfinished row (open, or a device reminder still on its way) to its final status;
    False if another worker finished it first."""
    result = session.execute(
        update(deliveries)
        .where(
            deliveries.c.reminder_id == reminder_id,
            deliveries.c.occurrence_at == occurrence_at,
            deliveries.c.status.in_(UNFINISHED_STATUSES),
        )
        .values(status=status, attempts=deliveries.c.attempts + attempts, detail=detail)
    )
    return rowcount(result) == 1


# -- what an outcome means for the user --------------------------------------------------------


def finish_deliveries(session: Session, outcomes: Sequence[FinalStatus]) -> None:
    """Move open rows ('sending' or 'retrying') to the given statuses, adding the attempts made.

    Outcomes that share status, attempts, detail and occurrence (a chunk of sends due together,
    almost all "HTTP 202: accepted") become one UPDATE ... WHERE reminder_id IN (...), so a chunk
    costs a statement or two instead of one per row.
    """
    groups: dict[tuple[str, int, str | None, datetime], list[int]] = {}
    for o in outcomes:
        groups.setdefault((o.status, o.attempts, o.detail, o.occurrence_at), []).append(o.reminder_id)
    for (status, attempts, detail, occurrence_at), ids in groups.items():
        session.execute(
            update(deliveries)
            .where(
                deliveries.c.reminder_id.in_(ids),
                deliveries.c.occurrence_at == occurrence_at,
                deliveries.c.status.in_(OPEN_STATUSES),
            )
            .values(status=status, attempts=deliveries.c.attempts + attempts, detail=detail)
        )


def fall_back(session: Session, keys: Collection[tuple[int, datetime]], channel: str) -> None:
    """Device reminders not placed by their fire time: 'sending' again, now as a notification.

    Only rows still unfinished change, so a placement the skill recorded meanwhile stays placed.
    """
    _reopen(session, keys, UNFINISHED_STATUSES, status=SENDING, channel=channel)


def reopen_deliveries(session: Session, keys: Collection[tuple[int, datetime]]) -> None:
    """'retrying' -> 'sending' for occurrences about to be attempted again."""
    _reopen(session, keys, (RETRYING,), status=SENDING)


def _reopen(
    session: Session, keys: Collection[tuple[int, datetime]], statuses: Collection[str], **values: Any
) -> None:
    """Set ``values`` on the rows of these occurrences whose status is one of ``statuses``: one
    UPDATE per distinct occurrence time (reminders due together share it)."""
    by_time: dict[datetime, list[int]] = {}
    for reminder_id, at in keys:
        by_time.setdefault(at, []).append(reminder_id)
    for at, ids in by_time.items():
        session.execute(
            update(deliveries)
            .where(
                deliveries.c.reminder_id.in_(ids),
                deliveries.c.occurrence_at == at,
                deliveries.c.status.in_(statuses),
            )
            .values(**values)
        )


def set_pending_greetings(session: Session, kinds: Mapping[int, str]) -> None:
    """Remember, per user, the kind of reminder just delivered (one UPDATE per kind)."""
    by_kind: dict[str, list[int]] = {}
    for user_id, kind in kinds.items():
        by_kind.setdefault(kind, []).append(user_id)
    for kind, ids in by_kind.items():
        session.execute(update(users).where(users.c.id.in_(ids)).values(pending_greeting=kind))


def block_user(session: Session, *, user_id: int, reason: str) -> int:
    """Stop notifying a user Alexa refused; returns how many of their reminders were paused.

    A user who granted the reminders permission still hears device reminders, so nothing of theirs
    is paused. Leases are left alone: reminders of this user claimed in the same batch complete
    normally and stay paused until the user grants permission again (ReminderService reschedules
    them then).
    """
    session.execute(update(users).where(users.c.id == user_id).values(delivery_blocked_reason=reason[:200]))
    if session.scalar(select(users.c.reminders_allowed).where(users.c.id == user_id)):
        return 0
    result = session.execute(
        update(reminders)
        .where(reminders.c.user_id == user_id, reminders.c.paused.is_(False))
        .values(paused=True)
    )
    return rowcount(result)
