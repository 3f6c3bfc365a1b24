"""Device reminders: each occurrence placed on the user's Alexa device a while before it fires.

Our reminder table stays the truth. The device holds at most the next occurrence of each reminder,
as a one-off Reminders API reminder, placed ``lead`` before its time (REMINDER_PLACEMENT_LEAD_HOURS);
the delivery log row of that occurrence (channel ``device``) records where it is:

1. The worker (dispatch.py) claims the reminder at ``next_fire_at - lead``, writes the row
   ('sending') and sends a Skill Message; Alexa's 202 makes it 'messaged', and the reminder is
   handed back, due again at its fire time. Alexa alone can give the skill a token the Reminders
   API accepts, so it is the skill that places the reminder:
2. the skill's ``Messaging.MessageReceived`` handler calls :meth:`Placements.begin` (a
   compare-and-set to 'placing', ordered with ``forget_user`` as a worker's prepare is), creates the
   device reminder with the message's token, then :meth:`Placements.placed` stores its alert token.
   If the row changed meanwhile (cancelled, skipped, the user left), the skill deletes the device
   reminder again. A transient failure answers 503 and Alexa redelivers; that next attempt looks
   on the device first, in case the failed call did create it.
3. At the fire time the worker claims the reminder again: 'placed' is done (the device said it);
   anything else goes out as a notification instead, under the usual grace and referenceId rules.

Changes by voice (move, skip, pause, cancel) mark the occurrence's row with what happened
(:func:`detach`) and hand back the device reminders the skill must update or delete with its
in-session token; a device reminder the user deleted in the Alexa app is marked 'removed'.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from scheduler import queries as q
from scheduler.channels.base import reference_id_for
from scheduler.db import utcnow
from scheduler.logs import user_ref
from scheduler.models import Delivery, Reminder, User

log = logging.getLogger(__name__)

DEVICE = "device"  # deliveries.channel of a device reminder
# A device reminder is placed only this long or more before it fires. Closer than that the
# worker's fire-time look sends a notification instead; the margin also keeps the skill's
# placement and that look from ever working on the same row at once.
PLACE_MARGIN = timedelta(minutes=1)
# A 'placing' row older than this was left by a skill request that died mid-call (the Reminders
# API call is bounded by the API client's few-second timeout).
PLACING_STALE = timedelta(seconds=30)

# Rows of an occurrence that may still reach the device, or already have.
_ON_ITS_WAY = (q.PLACED, *q.AWAITING_STATUSES)


def visible_from(next_fire_at: datetime, lead: timedelta, *, device: bool) -> datetime:
    """When a reminder's next occurrence may be claimed: ``lead`` early if it goes to the device."""
    return next_fire_at - lead if device else next_fire_at


def wall_time(at: datetime, zone: str) -> datetime:
    """The naive local reading of ``at`` in ``zone``: what the Reminders API's scheduledTime holds."""
    return at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


@dataclass(frozen=True)
class DeviceReminder:
    """A reminder on the user's device: the Reminders API's alert token for one occurrence."""

    reminder_id: int
    occurrence_at: datetime
    alert_token: str


@dataclass(frozen=True)
class Placement:
    """What the skill places on the device (or moves there, with ``alert_token``)."""

    reminder_id: int
    occurrence_at: datetime  # aware UTC
    kind: str
    time_zone: str
    locale: str
    # An earlier attempt was cut off mid-call: it may have created the reminder, so the skill looks
    # on the device before creating another.
    recover: bool = False
    alert_token: str | None = None

    @property
    def wall(self) -> datetime:
        return wall_time(self.occurrence_at, self.time_zone)


@dataclass(frozen=True)
class DeviceChanges:
    """What a change by voice means on the device: reminders to delete, and placed ones to move."""

    delete: tuple[DeviceReminder, ...] = ()
    move: tuple[Placement, ...] = ()

    def __add__(self, other: DeviceChanges) -> DeviceChanges:
        return DeviceChanges(self.delete + other.delete, self.move + other.move)


def detach(
    session: Session,
    reminder_ids: Collection[int],
    *,
    status: str,
    after: datetime,
    detail: str,
    keep: datetime | None = None,
) -> list[DeviceReminder]:
    """Mark the reminders' occurrences after ``after`` that are on (or on their way to) the device.

    They become ``status`` (skipped, paused, moved...), so neither the skill nor the worker places
    or sends them any more; returns those already placed, for the skill to delete from the device.
    The occurrence ``keep`` is left alone.
    """
    if not reminder_ids:
        return []
    where = and_(
        Delivery.reminder_id.in_(sorted(set(reminder_ids))),
        Delivery.occurrence_at > after,
        or_(
            Delivery.status.in_(_ON_ITS_WAY),
            and_(Delivery.channel == DEVICE, Delivery.status.in_(q.OPEN_STATUSES)),
        ),
    )
    if keep is not None:
        where = and_(where, Delivery.occurrence_at != keep)
    placed = [
        DeviceReminder(row.reminder_id, row.occurrence_at, row.alert_token)
        for row in session.execute(
            select(Delivery.reminder_id, Delivery.occurrence_at, Delivery.alert_token).where(
                where, Delivery.status == q.PLACED, Delivery.alert_token.is_not(None)
            )
        )
    ]
    session.execute(
        update(Delivery)
        .where(where)
        .values(status=status, detail=detail)
        .execution_options(synchronize_session=False)
    )
    return placed


# Rows that record a change by voice (or in the app) to one occurrence. A later reschedule that
# lands on that same occurrence again (move back, resume) supersedes them.
_SUPERSEDED = (q.MOVED, q.SKIPPED, q.PAUSED, q.REMOVED)


def clear_superseded(session: Session, reminder: Reminder) -> None:
    """Drop the record of an earlier change to the occurrence the reminder is now scheduled for,
    so the worker places (or sends) it again instead of taking it as handled."""
    session.execute(
        delete(Delivery).where(
            Delivery.reminder_id == reminder.id,
            Delivery.occurrence_at == reminder.next_fire_at,
            Delivery.status.in_(_SUPERSEDED),
        )
    )


def placed_on_device(
    session: Session, reminder_ids: Collection[int], *, after: datetime
) -> list[DeviceReminder]:
    """The reminders' device reminders for occurrences after ``after``."""
    if not reminder_ids:
        return []
    return [
        DeviceReminder(row.reminder_id, row.occurrence_at, row.alert_token)
        for row in session.execute(
            select(Delivery.reminder_id, Delivery.occurrence_at, Delivery.alert_token).where(
                Delivery.reminder_id.in_(sorted(set(reminder_ids))),
                Delivery.occurrence_at > after,
                Delivery.status == q.PLACED,
                Delivery.alert_token.is_not(None),
            )
        )
    ]


def move_on_device(session: Session, reminder: Reminder, user: User, *, now: datetime) -> DeviceChanges:
    """After ``reminder`` was rescheduled: move its device reminder to the new occurrence, or drop it.

    The placed one moves (same device reminder, a new time; the row now stands for the new
    occurrence, so the worker does not place it again) when the new occurrence would be placed now
    anyway. Otherwise, and for anything still on its way, the row becomes 'moved', the device
    reminder is deleted, and the worker places the new occurrence in its time.
    """
    new_at = reminder.next_fire_at
    placed = [p for p in placed_on_device(session, [reminder.id], after=now) if p.occurrence_at != new_at]
    taken = session.scalar(
        select(Delivery.id).where(Delivery.reminder_id == reminder.id, Delivery.occurrence_at == new_at)
    )
    movable = (
        placed[0]
        if placed and taken is None and reminder.visible_at <= now and new_at - now > PLACE_MARGIN
        else None
    )
    gone = detach(
        session,
        [reminder.id],
        status=q.MOVED,
        after=now,
        detail="moved by voice",
        keep=movable.occurrence_at if movable else None,
    )
    if movable is None:
        return DeviceChanges(delete=tuple(g for g in gone if g.occurrence_at != new_at))
    session.execute(
        update(Delivery)
        .where(Delivery.reminder_id == reminder.id, Delivery.occurrence_at == movable.occurrence_at)
        .values(
            occurrence_at=new_at, reference_id=reference_id_for(reminder.id, new_at), detail="moved by voice"
        )
        .execution_options(synchronize_session=False)
    )
    reminder.visible_at = new_at
    move = Placement(
        reminder.id, new_at, reminder.kind, reminder.time_zone, user.locale, alert_token=movable.alert_token
    )
    return DeviceChanges(delete=tuple(gone), move=(move,))


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Placements:
    """The skill's side of placing device reminders; every call is one short transaction."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def begin(
        self, alexa_user_id: str, reminder_id: int, occurrence_at: datetime, reference_id: str
    ) -> Placement | str:
        """Claim one occurrence for placing ('placing'); a reason (str) when it must not be placed.

        A compare-and-set on the delivery row comes first, which orders this with ``forget_user``
        and with cancels: on PostgreSQL the reminder row is then read under FOR UPDATE (waiting for
        a forget_user in progress, then seeing it); on SQLite that first write takes the one write
        lock. Rows are locked in the worker's order (deliveries, then reminders). It refuses,
        without writing anything, an occurrence too close to its time: the worker's fire-time look
        owns it then.
        """
        now = self._clock()
        if occurrence_at - now <= PLACE_MARGIN:
            return f"too close to its time ({occurrence_at.isoformat()}); the worker will notify instead"
        try:
            with self._sessions.begin() as session:
                return self._begin(session, alexa_user_id, reminder_id, occurrence_at, reference_id, now)
        except _Refused as refused:
            return refused.reason

    def _begin(
        self,
        session: Session,
        alexa_user_id: str,
        reminder_id: int,
        occurrence_at: datetime,
        reference_id: str,
        now: datetime,
    ) -> Placement:
        key = and_(
            Delivery.reminder_id == reminder_id,
            Delivery.occurrence_at == occurrence_at,
            Delivery.channel == DEVICE,
            Delivery.reference_id == reference_id,
        )
        # Claimable: still on its way (the message may arrive before the worker has recorded that
        # Alexa took it), or left 'placing' by a request that died mid-call.
        fresh = q.rowcount(
            session.execute(
                update(Delivery)
                .where(key, Delivery.status.in_((q.SENDING, q.MESSAGED, q.RETRYING)))
                .values(status=q.PLACING, attempts=Delivery.attempts + 1, detail=None)
                .execution_options(synchronize_session=False)
            )
        )
        stale = not fresh and q.rowcount(
            session.execute(
                update(Delivery)
                .where(key, Delivery.status == q.PLACING, Delivery.updated_at < now - PLACING_STALE)
                .values(status=q.PLACING, attempts=Delivery.attempts + 1, detail=None)
                .execution_options(synchronize_session=False)
            )
        )
        if not fresh and not stale:
            status = session.scalar(select(Delivery.status).where(key))
            raise _Refused(f"already {status}" if status else "no device delivery for this occurrence")
        found = session.execute(
            select(Reminder, User).join(User).where(Reminder.id == reminder_id).with_for_update(of=Reminder)
        ).first()
        if found is None:
            raise _Refused("the reminder was deleted")
        reminder, user = found
        if user.alexa_user_id != alexa_user_id:
            raise _Refused("the message is for another user")
        if not reminder.enabled or reminder.paused or not user.reminders_allowed:
            raise _Refused("the reminder is off, paused, or the reminders permission is gone")
        if reminder.next_fire_at != occurrence_at:
            raise _Refused("the reminder was rescheduled since")
        return Placement(
            reminder.id, occurrence_at, reminder.kind, reminder.time_zone, user.locale, recover=bool(stale)
        )

    def placed(self, placement: Placement, alert_token: str) -> bool:
        """Record the device reminder; False when the occurrence changed meanwhile (delete it then)."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(Delivery)
                .where(
                    Delivery.reminder_id == placement.reminder_id,
                    Delivery.occurrence_at == placement.occurrence_at,
                    Delivery.status == q.PLACING,
                )
                .values(status=q.PLACED, alert_token=alert_token[:256], detail="placed on the device")
                .execution_options(synchronize_session=False)
            )
            return bool(q.rowcount(result))

    def not_placed(self, placement: Placement, detail: str, *, again: bool) -> None:
        """Give the occurrence back: to be placed on Alexa's redelivery (``again``), else 'unplaced',
        which the worker sends as a notification at its time.

        A call that failed for now may still have created the reminder (a reply lost on the way
        back), so ``again`` leaves the row 'placing' as if long ago: the next delivery looks on the
        device before creating one, exactly as after a request that died mid-call.
        """
        values: dict[str, object] = {"detail": detail[:500]}
        if again:
            values["updated_at"] = self._clock() - PLACING_STALE - timedelta(seconds=1)
        else:
            values["status"] = q.UNPLACED
        with self._sessions.begin() as session:
            session.execute(
                update(Delivery)
                .where(
                    Delivery.reminder_id == placement.reminder_id,
                    Delivery.occurrence_at == placement.occurrence_at,
                    Delivery.status == q.PLACING,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    def move_failed(self, placement: Placement, detail: str) -> None:
        """The device would not move a placed reminder: forget it, and place the occurrence afresh.

        The skill deletes the old device reminder (best effort); the reminder comes due at once, so
        the worker places the new occurrence (or notifies at its time).
        """
        now = self._clock()
        with self._sessions.begin() as session:
            # The row stood for the moved occurrence; without it the worker places that one anew.
            session.execute(
                delete(Delivery).where(
                    Delivery.reminder_id == placement.reminder_id,
                    Delivery.occurrence_at == placement.occurrence_at,
                    Delivery.status == q.PLACED,
                )
            )
            log.warning(
                "reminder %s: could not move its device reminder (%s); placing the new time afresh",
                placement.reminder_id,
                detail,
            )
            session.execute(
                update(Reminder)
                .where(
                    Reminder.id == placement.reminder_id,
                    Reminder.next_fire_at == placement.occurrence_at,
                    Reminder.lease_token.is_(None),
                )
                .values(visible_at=now)
                .execution_options(synchronize_session=False)
            )

    def removed_in_app(self, alexa_user_id: str, alert_tokens: Sequence[str]) -> int:
        """The user deleted these device reminders in the Alexa app: that occurrence is skipped.

        The row becomes 'removed' (the worker neither places nor notifies it), and the reminder
        remembers the skipped date, so the list says so. Later occurrences carry on. Tokens that are
        not ours, or no longer placed (our own deletes come back as events too), are ignored.
        """
        if not alert_tokens:
            return 0
        now = self._clock()
        with self._sessions.begin() as session:
            rows = session.execute(
                select(Delivery.id, Delivery.occurrence_at, Reminder)
                .join(Reminder, Reminder.id == Delivery.reminder_id)
                .join(User, User.id == Reminder.user_id)
                .where(
                    User.alexa_user_id == alexa_user_id,
                    Delivery.alert_token.in_(sorted(set(alert_tokens))),
                    Delivery.status == q.PLACED,
                )
            ).all()
            for row in rows:
                session.execute(
                    update(Delivery)
                    .where(Delivery.id == row.id, Delivery.status == q.PLACED)
                    .values(status=q.REMOVED, detail="deleted in the Alexa app")
                    .execution_options(synchronize_session=False)
                )
                if row.occurrence_at > now:
                    row.Reminder.skip_on = wall_time(row.occurrence_at, row.Reminder.time_zone).date()
            if rows:
                log.info(
                    "user %s deleted %d device reminder(s) in the Alexa app; those occurrences are skipped",
                    user_ref(alexa_user_id),
                    len(rows),
                )
            return len(rows)

    def on_device(self, alexa_user_id: str) -> list[DeviceReminder]:
        """The user's device reminders still to fire."""
        with self._sessions() as session:
            ids = session.scalars(
                select(Reminder.id).join(User).where(User.alexa_user_id == alexa_user_id)
            ).all()
            return placed_on_device(session, ids, after=self._clock())
