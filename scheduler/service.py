"""ReminderService: the reminder API the voice skill uses (set, list, move, skip, pause, cancel, forget).

Changes that touch an occurrence already on the user's device (scheduler/placements.py) return the
device reminders to move or delete, which the skill does with its in-session token.
"""

from __future__ import annotations

import logging
import time as clock_time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from scheduler import placements
from scheduler import queries as q
from scheduler.config import DEFAULT_PLACEMENT_LEAD_HOURS
from scheduler.db import utcnow
from scheduler.logs import user_ref
from scheduler.models import Delivery, Reminder, SkillState, User
from scheduler.placements import DeviceChanges, DeviceReminder, visible_from, wall_time
from scheduler.recurrence import EVERY_DAY, next_occurrence

KINDS = ("stretch", "water")

log = logging.getLogger(__name__)

# How long forget_user waits for sends to that user already under way (their 'sending' rows) to
# be recorded. They normally take one round trip to Amazon; the bound keeps SkillDisabled's
# answer well inside Alexa's 8 s even if a worker died mid-send.
FORGET_WAIT_SECONDS = 3.0
FORGET_POLL_SECONDS = 0.02

# "Skip tonight's reminder" skips the next occurrence of each reminder if it comes within this long.
SKIP_HORIZON = timedelta(hours=24)
# Bounds for "pause my reminders for ...": shorter is not a pause, longer is better cancelled.
MIN_PAUSE = timedelta(hours=1)
MAX_PAUSE = timedelta(days=366)


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
    paused_until: datetime | None = None
    skip_on: date | None = None

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
            row.paused_until,
            row.skip_on,
        )

    def paused_at(self, now: datetime) -> datetime | None:
        """When a pause by voice ends, if one is on at ``now``."""
        return self.paused_until if self.paused_until is not None and self.paused_until > now else None

    def skipping(self, now: datetime) -> date | None:
        """The local date whose occurrence is skipped, if it is today or later."""
        if self.skip_on is None or self.skip_on < wall_time(now, self.time_zone).date():
            return None
        return self.skip_on


@dataclass(frozen=True)
class Moved:
    view: ReminderView
    device: DeviceChanges = field(default_factory=DeviceChanges)


@dataclass(frozen=True)
class Cancelled:
    count: int
    device: DeviceChanges = field(default_factory=DeviceChanges)


@dataclass(frozen=True)
class Skipped:
    """Each reminder skipped, with the occurrence it skips; ``views`` show the next one after it."""

    skipped: tuple[tuple[ReminderView, datetime], ...]
    device: DeviceChanges = field(default_factory=DeviceChanges)


@dataclass(frozen=True)
class Paused:
    views: tuple[ReminderView, ...]
    until: datetime
    device: DeviceChanges = field(default_factory=DeviceChanges)


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
        placement_lead: timedelta = timedelta(hours=DEFAULT_PLACEMENT_LEAD_HOURS),
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._forget_wait = forget_wait
        self._lead = placement_lead

    # -- users ---------------------------------------------------------------------------------

    @staticmethod
    def _find_user(session: Session, alexa_user_id: str) -> User | None:
        return session.scalar(select(User).where(User.alexa_user_id == alexa_user_id))

    def _user(self, session: Session, alexa_user_id: str) -> User:
        """The user's row, created on first need (a new user has not granted notifications yet)."""
        user = self._find_user(session, alexa_user_id)
        if user is None:
            user = User(
                alexa_user_id=alexa_user_id,
                notifications_allowed=False,
                reminders_allowed=False,
                subscribed=True,
            )
            session.add(user)
            session.flush()
        return user

    def _sync_paused(self, user: User, *, device_changed: bool = False) -> None:
        """Pause or resume the user's reminders to match whether we may deliver to them.

        Resumed reminders restart from now: a backlog is never replayed. When the reminders
        permission changed (``device_changed``), idle reminders become claimable when their next
        occurrence is to be placed on the device, or, without it, when it is to be notified.
        """
        now = self._clock()
        paused = not user.can_deliver
        for reminder in user.reminders:
            if reminder.paused != paused:
                reminder.paused = paused
                if not paused:
                    self._schedule(reminder, now, user)
            elif device_changed and not paused and reminder.lease_token is None:
                reminder.visible_at = visible_from(
                    reminder.next_fire_at, self._lead, device=bool(user.reminders_allowed)
                )

    def _schedule(self, reminder: Reminder, after: datetime, user: User) -> None:
        """Set the next occurrence after ``after``, past a pause and a skipped date, and drop any lease."""
        if reminder.paused_until is not None and reminder.paused_until > after:
            after = reminder.paused_until
        nxt = next_occurrence(after, reminder.local_time, reminder.time_zone, reminder.days)
        # A skipped local date holds one occurrence (two only across a repeated DST hour, never here).
        if reminder.skip_on is not None and wall_time(nxt, reminder.time_zone).date() == reminder.skip_on:
            nxt = next_occurrence(nxt, reminder.local_time, reminder.time_zone, reminder.days)
        reminder.next_fire_at = nxt
        reminder.visible_at = visible_from(nxt, self._lead, device=bool(user.reminders_allowed))
        reminder.lease_owner = None
        reminder.lease_token = None

    def note_user(
        self,
        alexa_user_id: str,
        *,
        locale: str | None = None,
        time_zone: str | None = None,
        notifications_allowed: bool | None = None,
        reminders_allowed: bool | None = None,
    ) -> None:
        """Record what a request tells us about the user (locale, zone, permissions)."""
        with self._sessions.begin() as session:
            user = self._user(session, alexa_user_id)
            if locale:
                user.locale = locale
            if time_zone:
                check_zone(time_zone)
                user.time_zone = time_zone
            self._apply_permissions(user, notifications_allowed, reminders_allowed)

    def _apply_permissions(self, user: User, notifications: bool | None, reminders: bool | None) -> None:
        changed = False
        if notifications is not None and notifications != user.notifications_allowed:
            user.notifications_allowed = notifications
            if notifications:
                user.delivery_blocked_reason = None
            changed = True
        device_changed = reminders is not None and reminders != bool(user.reminders_allowed)
        if device_changed:
            user.reminders_allowed = bool(reminders)
        if changed or device_changed:
            self._sync_paused(user, device_changed=device_changed)

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
        reminders_allowed: bool | None = None,
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
            # What this request says about the permissions holds for the user's other reminders too.
            self._apply_permissions(user, notifications_allowed, reminders_allowed)
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
                self._schedule(reminder, now, user)
                if existing is None:
                    user.reminders.append(reminder)
                stored.append(reminder)
            self._sync_paused(user)
            session.flush()
            for reminder in stored:
                placements.clear_superseded(session, reminder)
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

    def move(self, alexa_user_id: str, kind: str, new_time: time, *, from_time: time | None = None) -> Moved:
        """Move the user's one reminder of ``kind`` (or the one at ``from_time``) to ``new_time``.

        A skipped date stays skipped and a pause stays on: the user changed the time, not those.
        """
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
            assert user is not None  # there are candidates
            reminder.local_time = new_time.replace(second=0, microsecond=0, tzinfo=None)
            self._schedule(reminder, now, user)
            session.flush()
            placements.clear_superseded(session, reminder)
            device = placements.move_on_device(session, reminder, user, now=now)
            return Moved(ReminderView.of(reminder), device)

    def cancel(self, alexa_user_id: str, kind: str | None = None) -> Cancelled:
        """Delete the user's reminders of ``kind`` (all when None); says how many, and which device
        reminders to delete with them."""
        now = self._clock()
        with self._sessions.begin() as session:
            user = self._find_user(session, alexa_user_id)
            if user is None:
                return Cancelled(0)
            doomed = [r for r in user.reminders if kind is None or r.kind == kind]
            on_device = placements.placed_on_device(session, [r.id for r in doomed], after=now)
            for reminder in doomed:
                user.reminders.remove(reminder)
            return Cancelled(len(doomed), DeviceChanges(delete=tuple(on_device)))

    def skip(self, alexa_user_id: str, kind: str | None = None) -> Skipped:
        """Skip the next occurrence of each reminder (of ``kind``) that comes within SKIP_HORIZON.

        One already due (a worker is on it) is not the next one any more: the one after it is.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            user = self._find_user(session, alexa_user_id)
            if user is None:
                return Skipped(())
            skipped: list[tuple[Reminder, datetime]] = []
            for reminder in user.reminders:
                if not reminder.enabled or (kind is not None and reminder.kind != kind):
                    continue
                if reminder.paused_until is not None and reminder.paused_until > now:
                    continue  # paused: there is no next one to skip yet
                upcoming = reminder.next_fire_at
                if upcoming <= now:
                    upcoming = next_occurrence(now, reminder.local_time, reminder.time_zone, reminder.days)
                if upcoming - now > SKIP_HORIZON:
                    continue
                reminder.skip_on = wall_time(upcoming, reminder.time_zone).date()
                self._schedule(reminder, now, user)
                skipped.append((reminder, upcoming))
            session.flush()
            chosen = [r.id for r, _ in skipped]
            gone = placements.detach(session, chosen, status=q.SKIPPED, after=now, detail="skipped by voice")
            for reminder, _ in skipped:
                placements.clear_superseded(session, reminder)
            return Skipped(
                tuple((ReminderView.of(r), at) for r, at in skipped), DeviceChanges(delete=tuple(gone))
            )

    def pause(self, alexa_user_id: str, length: timedelta, kind: str | None = None) -> Paused:
        """Pause the user's reminders (of ``kind``) for ``length``; they carry on by themselves after."""
        if not MIN_PAUSE <= length <= MAX_PAUSE:
            raise ReminderError("bad_pause", f"a pause must last {MIN_PAUSE} to {MAX_PAUSE}, not {length}")
        now = self._clock()
        until = now + length
        with self._sessions.begin() as session:
            user = self._find_user(session, alexa_user_id)
            chosen = [
                r for r in (user.reminders if user else []) if r.enabled and (kind is None or r.kind == kind)
            ]
            if user is None or not chosen:
                return Paused((), until)
            for reminder in chosen:
                reminder.paused_until = until
                self._schedule(reminder, now, user)
            session.flush()
            gone = placements.detach(
                session, [r.id for r in chosen], status=q.PAUSED, after=now, detail="paused by voice"
            )
            for reminder in chosen:
                placements.clear_superseded(session, reminder)
            return Paused(tuple(ReminderView.of(r) for r in chosen), until, DeviceChanges(delete=tuple(gone)))

    def resume(self, alexa_user_id: str) -> tuple[ReminderView, ...]:
        """End a pause by voice and unskip a skipped date; returns the reminders that changed."""
        now = self._clock()
        with self._sessions.begin() as session:
            user = self._find_user(session, alexa_user_id)
            if user is None:
                return ()
            today = {r.id: wall_time(now, r.time_zone).date() for r in user.reminders}
            changed = [
                r
                for r in user.reminders
                if r.enabled
                and (
                    (r.paused_until is not None and r.paused_until > now)
                    or (r.skip_on is not None and r.skip_on >= today[r.id])
                )
            ]
            for reminder in changed:
                reminder.paused_until = None
                reminder.skip_on = None
                self._schedule(reminder, now, user)
            session.flush()
            for reminder in changed:
                placements.clear_superseded(session, reminder)
            return tuple(ReminderView.of(r) for r in changed)

    # -- events from Alexa ---------------------------------------------------------------------

    def forget_user(self, alexa_user_id: str) -> tuple[DeviceReminder, ...]:
        """Delete everything stored for this user (SkillDisabled); once it returns, nothing more is
        sent to them, by any worker, and nothing more is placed on their device. Returns the device
        reminders still to fire, for the skill to delete.

        1. Disable the user's reminders and commit. A worker prepares each wave of sends in a
           transaction that locks the claimed reminder rows first (row locks on PostgreSQL, the
           single writer on SQLite), so this commit is ordered with every prepare: a later prepare
           sees the reminders disabled and sends nothing; an earlier one has committed its
           'sending' rows, and its wave is already going out.
           A placement by the skill (placements.py) is ordered with it the same way.
        2. Wait, at most ``forget_wait`` seconds, for those 'sending' rows of reminders under a live
           lease to be recorded, that is for the sends already under way to be answered, and for
           placements under way ('placing').
        3. Note the device reminders still to fire, and delete the user's rows.
        """
        with self._sessions.begin() as session:
            user_id = session.scalar(select(User.id).where(User.alexa_user_id == alexa_user_id))
            if user_id is None:
                session.execute(delete(SkillState).where(SkillState.alexa_user_id == alexa_user_id))
                return ()
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
        self._wait_for_sends(alexa_user_id, user_id, leased)
        with self._sessions.begin() as session:
            ids = session.scalars(select(Reminder.id).where(Reminder.user_id == user_id)).all()
            on_device = tuple(placements.placed_on_device(session, ids, after=self._clock()))
            # Explicit child deletes: no reliance on the backend enforcing ON DELETE CASCADE.
            session.execute(delete(Delivery).where(Delivery.user_id == user_id))
            session.execute(delete(Reminder).where(Reminder.user_id == user_id))
            session.execute(delete(User).where(User.id == user_id))
            session.execute(delete(SkillState).where(SkillState.alexa_user_id == alexa_user_id))
        return on_device

    def _wait_for_sends(self, alexa_user_id: str, user_id: int, reminder_ids: Sequence[int]) -> None:
        deadline = clock_time.monotonic() + self._forget_wait
        # Sends of the reminders a worker holds, and placements the skill has under way (a row left
        # 'placing' by a request that died long ago is not waited for).
        under_way = or_(
            and_(Delivery.reminder_id.in_(reminder_ids), Delivery.status == q.SENDING),
            and_(
                Delivery.user_id == user_id,
                Delivery.status == q.PLACING,
                Delivery.updated_at > self._clock() - placements.PLACING_STALE,
            ),
        )
        while True:
            with self._sessions() as session:
                in_flight = session.scalar(select(func.count()).select_from(Delivery).where(under_way))
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
        """Apply a permission event about notifications alone; False when a newer one was applied."""
        return self.set_permissions(alexa_user_id, at, notifications=allowed)

    def set_permissions(
        self, alexa_user_id: str, at: datetime, *, notifications: bool, reminders: bool | None = None
    ) -> bool:
        """Apply a permission event (the scopes it lists are all the user has granted); returns False
        when a newer event was already applied."""

        def apply(user: User) -> None:
            self._apply_permissions(user, notifications, reminders)

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
