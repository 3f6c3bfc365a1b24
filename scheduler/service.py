"""ReminderService: the reminder API the voice skill uses (set, list, move, cancel, forget)."""

from __future__ import annotations

import logging
import time as clock_time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db import utcnow
from scheduler.logs import user_ref
from scheduler.models import Delivery, Reminder, SkillState, User
from scheduler.queries import SENDING
from scheduler.recurrence import EVERY_DAY, next_occurrence

KINDS = ("stretch", "water")

log = logging.getLogger(__name__)

# How long forget_user waits for sends to that user already under way (their 'sending' rows) to
# be recorded. They normally take one round trip to Amazon; the bound keeps SkillDisabled's
# answer well inside Alexa's 8 s even if a worker died mid-send.
FORGET_WAIT_SECONDS = 3.0
FORGET_POLL_SECONDS = 0.02


class ReminderError(ValueError):
    """A request the service cannot carry out; ``code`` says which, for the caller to phrase."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ReminderView:
    id: int
    kind: str
    local_time: time
    days: int
    time_zone: str
    spoken: str | None
    enabled: bool
    paused: bool
    next_fire_at: datetime

    @classmethod
    def of(cls, row: Reminder) -> ReminderView:
        return cls(
            row.id,
            row.kind,
            row.local_time,
            row.days,
            row.time_zone,
            row.spoken,
            row.enabled,
            row.paused,
            row.next_fire_at,
        )


def check_zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReminderError("bad_zone", f"unknown time zone {zone!r}") from exc


class ReminderService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime] = utcnow,
        *,
        forget_wait: float = FORGET_WAIT_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._forget_wait = forget_wait

    # -- users ---------------------------------------------------------------------------------

    @staticmethod
    def _find_user(session: Session, alexa_user_id: str) -> User | None:
        return session.scalar(select(User).where(User.alexa_user_id == alexa_user_id))

    def _user(self, session: Session, alexa_user_id: str) -> User:
        """The user's row, created on first need (a new user has not granted notifications yet)."""
        user = self._find_user(session, alexa_user_id)
        if user is None:
            user = User(alexa_user_id=alexa_user_id, notifications_allowed=False, subscribed=True)
            session.add(user)
            session.flush()
        return user

    def _sync_paused(self, user: User) -> None:
        """Pause or resume the user's reminders to match whether we may deliver to them.

        Resumed reminders restart from now: a backlog is never replayed.
        """
        now = self._clock()
        paused = not user.can_deliver
        for reminder in user.reminders:
            if reminder.paused == paused:
                continue
            reminder.paused = paused
            if not paused:
                self._schedule(reminder, now)

    @staticmethod
    def _schedule(reminder: Reminder, after: datetime) -> None:
        reminder.next_fire_at = next_occurrence(after, reminder.local_time, reminder.time_zone, reminder.days)
        reminder.visible_at = reminder.next_fire_at
        reminder.lease_owner = None
        reminder.lease_token = None

    def note_user(
        self,
        alexa_user_id: str,
        *,
        locale: str | None = None,
        time_zone: str | None = None,
        notifications_allowed: bool | None = None,
    ) -> None:
        """Record what a request tells us about the user (locale, zone, notification permission)."""
        with self._sessions.begin() as session:
            user = self._user(session, alexa_user_id)
            if locale:
                user.locale = locale
            if time_zone:
                check_zone(time_zone)
                user.time_zone = time_zone
            if notifications_allowed is not None and notifications_allowed != user.notifications_allowed:
                user.notifications_allowed = notifications_allowed
                if notifications_allowed:
                    user.delivery_blocked_reason = None
                self._sync_paused(user)

    def user_time_zone(self, alexa_user_id: str) -> str | None:
        with self._sessions() as session:
            return session.scalar(select(User.time_zone).where(User.alexa_user_id == alexa_user_id))

    # -- reminders -----------------------------------------------------------------------------

    def add(
        self,
        alexa_user_id: str,
        kind: str,
        times: Sequence[time],
        *,
        time_zone: str,
        days: int = EVERY_DAY,
        spoken: str | None = None,
        locale: str | None = None,
        notifications_allowed: bool | None = None,
    ) -> list[ReminderView]:
        """Store one reminder per time; the same kind, time and days set twice is stored once."""
        if kind not in KINDS:
            raise ReminderError("bad_kind", f"unknown reminder kind {kind!r}")
        if not times:
            raise ReminderError("no_time", "a reminder needs a time")
        if not 0 < days <= EVERY_DAY:
            raise ReminderError("bad_days", "a reminder needs at least one day")
        check_zone(time_zone)
        now = self._clock()
        with self._sessions.begin() as session:
            user = self._user(session, alexa_user_id)
            if locale:
                user.locale = locale
            user.time_zone = time_zone
            if notifications_allowed is not None:
                user.notifications_allowed = notifications_allowed
                if notifications_allowed:
                    user.delivery_blocked_reason = None
            stored: list[Reminder] = []
            for at in dict.fromkeys(t.replace(second=0, microsecond=0, tzinfo=None) for t in times):
                existing = next(
                    (r for r in user.reminders if r.kind == kind and r.local_time == at and r.days == days),
                    None,
                )
                reminder = existing or Reminder(kind=kind, local_time=at, days=days)
                reminder.time_zone = time_zone
                reminder.spoken = spoken
                reminder.enabled = True
                reminder.paused = not user.can_deliver
                self._schedule(reminder, now)
                if existing is None:
                    user.reminders.append(reminder)
                stored.append(reminder)
            self._sync_paused(user)
            session.flush()
            return [ReminderView.of(r) for r in stored]

    def list(self, alexa_user_id: str) -> list[ReminderView]:
        with self._sessions() as session:
            rows = session.scalars(
                select(Reminder)
                .join(User)
                .where(User.alexa_user_id == alexa_user_id, Reminder.enabled)
                .order_by(Reminder.kind, Reminder.local_time)
            ).all()
            return [ReminderView.of(r) for r in rows]

    def move(
        self, alexa_user_id: str, kind: str, new_time: time, *, from_time: time | None = None
    ) -> ReminderView:
        """Move the user's one reminder of ``kind`` (or the one at ``from_time``) to ``new_time``."""
        now = self._clock()
        with self._sessions.begin() as session:
            user = self._find_user(session, alexa_user_id)
            candidates = [
                r
                for r in (user.reminders if user else [])
                if r.kind == kind and r.enabled and (from_time is None or r.local_time == from_time)
            ]
            if not candidates:
                raise ReminderError("not_found", f"no {kind} reminder to move")
            if len(candidates) > 1:
                raise ReminderError("ambiguous", f"{len(candidates)} {kind} reminders match")
            reminder = candidates[0]
            reminder.local_time = new_time.replace(second=0, microsecond=0, tzinfo=None)
            self._schedule(reminder, now)
            session.flush()
            return ReminderView.of(reminder)

    def cancel(self, alexa_user_id: str, kind: str | None = None) -> int:
        """Delete the user's reminders of ``kind`` (all when None); returns how many."""
        with self._sessions.begin() as session:
            user = self._find_user(session, alexa_user_id)
            if user is None:
                return 0
            doomed = [r for r in user.reminders if kind is None or r.kind == kind]
            for reminder in doomed:
                user.reminders.remove(reminder)
            return len(doomed)

    # -- events from Alexa ---------------------------------------------------------------------

    def forget_user(self, alexa_user_id: str) -> None:
        """Delete everything stored for this user (SkillDisabled); once it returns, nothing more is
        sent to them, by any worker.

        1. Disable the user's reminders and commit. A worker prepares each wave of sends in a
           transaction that locks the claimed reminder rows first (row locks on PostgreSQL, the
           single writer on SQLite), so this commit is ordered with every prepare: a later prepare
           sees the reminders disabled and sends nothing; an earlier one has committed its
           'sending' rows, and its wave is already going out.
        2. Wait, at most ``forget_wait`` seconds, for those 'sending' rows of reminders under a live
           lease to be recorded, that is for the sends already under way to be answered.
        3. Delete the user's rows.
        """
        with self._sessions.begin() as session:
            user_id = session.scalar(select(User.id).where(User.alexa_user_id == alexa_user_id))
            if user_id is None:
                session.execute(delete(SkillState).where(SkillState.alexa_user_id == alexa_user_id))
                return
            now = self._clock()
            leased = [
                row.id
                for row in session.execute(
                    update(Reminder)
                    .where(Reminder.user_id == user_id)
                    .values(enabled=False)
                    .returning(Reminder.id, Reminder.lease_token, Reminder.visible_at)
                )
                if row.lease_token is not None and row.visible_at > now
            ]
        if leased:
            self._wait_for_sends(alexa_user_id, leased)
        with self._sessions.begin() as session:
            # Explicit child deletes: no reliance on the backend enforcing ON DELETE CASCADE.
            session.execute(delete(Delivery).where(Delivery.user_id == user_id))
            session.execute(delete(Reminder).where(Reminder.user_id == user_id))
            session.execute(delete(User).where(User.id == user_id))
            session.execute(delete(SkillState).where(SkillState.alexa_user_id == alexa_user_id))

    def _wait_for_sends(self, alexa_user_id: str, reminder_ids: Sequence[int]) -> None:
        deadline = clock_time.monotonic() + self._forget_wait
        while True:
            with self._sessions() as session:
                in_flight = session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.reminder_id.in_(reminder_ids), Delivery.status == SENDING)
                )
            if not in_flight:
                return
            if clock_time.monotonic() >= deadline:
                log.warning(
                    "forget %s: %d send(s) still unrecorded after %gs (a worker may have stopped "
                    "mid-send); deleting anyway, no new send can start",
                    user_ref(alexa_user_id),
                    in_flight,
                    self._forget_wait,
                )
                return
            clock_time.sleep(FORGET_POLL_SECONDS)

    def set_notifications_allowed(self, alexa_user_id: str, allowed: bool, at: datetime) -> bool:
        """Apply a permission event; returns False when a newer event was already applied."""

        def apply(user: User) -> None:
            user.notifications_allowed = allowed
            if allowed:
                user.delivery_blocked_reason = None

        return self._apply_event(alexa_user_id, at, "permission_changed_at", apply)

    def set_subscription(self, alexa_user_id: str, subscribed: bool, at: datetime) -> bool:
        """Apply a ProactiveSubscriptionChanged event; returns False when a newer one was applied."""

        def apply(user: User) -> None:
            user.subscribed = subscribed

        return self._apply_event(alexa_user_id, at, "subscription_changed_at", apply)

    def _apply_event(
        self, alexa_user_id: str, at: datetime, stamp: str, apply: Callable[[User], None]
    ) -> bool:
        """Events may arrive out of order: apply one only if it is newer than the last of its kind."""
        with self._sessions.begin() as session:
            user = self._user(session, alexa_user_id)
            last: datetime | None = getattr(user, stamp)
            if last is not None and at <= last:
                return False
            setattr(user, stamp, at)
            apply(user)
            self._sync_paused(user)
            return True

    def clear_greeting(self, alexa_user_id: str, kind: str) -> bool:
        """Mark the greeting of ``kind`` as said (the skill read it with the user's state).

        Only that kind is cleared: a reminder of the other kind delivered since the read keeps its
        greeting for the next visit. Returns whether anything was cleared.
        """
        with self._sessions.begin() as session:
            result = session.execute(
                update(User)
                .where(User.alexa_user_id == alexa_user_id, User.pending_greeting == kind)
                .values(pending_greeting=None)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0))

    def take_greeting(self, alexa_user_id: str) -> str | None:
        """The kind of reminder delivered since the user last opened the skill, cleared once read."""
        with self._sessions.begin() as session:
            user = self._find_user(session, alexa_user_id)
            if user is None or user.pending_greeting is None:
                return None
            kind, user.pending_greeting = user.pending_greeting, None
            return kind
