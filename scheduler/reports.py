"""Read-only summaries for the operator: ``cramp-coach reminders stats`` and ``reminders show``,
and the age of the oldest due reminder (a worker metric).

Users are named by ``scheduler.logs.user_ref``, the hash every log line carries; a report never
shows an Alexa user id. Finding a user by that hash reads every user id once (the hash is not
stored), which takes about a second per million users.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from scheduler.logs import user_ref
from scheduler.models import Delivery, Reminder, SkillState, User
from scheduler.queries import LIVE
from scheduler.recurrence import EVERY_DAY, WEEKDAYS, WEEKENDS, weekdays_in

USER_REF = re.compile(r"u-[0-9a-f]{12}")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RECENT_DELIVERIES = 10
# Reading user ids to find a hash: this many per round trip.
_SCAN_CHUNK = 5_000


def _due(now: datetime) -> Any:
    # The due index's own predicate, spelled as the worker's claim spells it, so the index serves it.
    return and_(LIVE, Reminder.visible_at <= now)


def oldest_due_age(session: Session, now: datetime) -> float:
    """Seconds since the oldest due, unclaimed occurrence should have gone out; 0 when none is due."""
    oldest = session.scalar(select(func.min(Reminder.next_fire_at)).where(_due(now)))
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def days_text(mask: int) -> str:
    names = {EVERY_DAY: "every day", WEEKDAYS: "weekdays", WEEKENDS: "weekends"}
    return names.get(mask) or " ".join(_DAY_NAMES[day] for day in weekdays_in(mask))


@dataclass
class Stats:
    now: datetime
    users: int = 0
    users_can_deliver: int = 0
    users_blocked: int = 0
    skill_states: int = 0
    # kind -> state ("active", "paused", "off") -> count
    reminders: dict[str, dict[str, int]] = field(default_factory=dict)
    due_now: int = 0
    claimed_now: int = 0
    oldest_due_seconds: float = 0.0
    next_24h: int = 0
    # status -> count, for occurrences in the last 24 hours
    deliveries_24h: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "now": self.now.isoformat()}


def stats(session: Session, now: datetime) -> Stats:
    out = Stats(now=now)
    out.users = session.scalar(select(func.count()).select_from(User)) or 0
    out.users_can_deliver = session.scalar(select(func.count()).where(User.can_deliver)) or 0
    out.users_blocked = (
        session.scalar(select(func.count()).where(User.delivery_blocked_reason.is_not(None))) or 0
    )
    out.skill_states = session.scalar(select(func.count()).select_from(SkillState)) or 0
    rows = session.execute(
        select(Reminder.kind, Reminder.enabled, Reminder.paused, func.count()).group_by(
            Reminder.kind, Reminder.enabled, Reminder.paused
        )
    ).all()
    for kind, enabled, paused, count in rows:
        state = "off" if not enabled else "paused" if paused else "active"
        by_state = out.reminders.setdefault(kind, {"active": 0, "paused": 0, "off": 0})
        by_state[state] += count
    out.due_now = session.scalar(select(func.count()).where(_due(now))) or 0
    out.claimed_now = (
        session.scalar(
            select(func.count()).where(Reminder.lease_token.is_not(None), Reminder.visible_at > now)
        )
        or 0
    )
    out.oldest_due_seconds = oldest_due_age(session, now)
    out.next_24h = (
        session.scalar(
            select(func.count()).where(
                LIVE,
                Reminder.next_fire_at > now,
                Reminder.next_fire_at <= now + timedelta(hours=24),
            )
        )
        or 0
    )
    for status, count in session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.occurrence_at > now - timedelta(hours=24), Delivery.occurrence_at <= now)
        .group_by(Delivery.status)
    ).all():
        out.deliveries_24h[status] = count
    return out


def _user_ids(session: Session) -> Iterator[tuple[int, str]]:
    last = 0
    while True:
        chunk = session.execute(
            select(User.id, User.alexa_user_id).where(User.id > last).order_by(User.id).limit(_SCAN_CHUNK)
        ).all()
        if not chunk:
            return
        yield from ((row.id, row.alexa_user_id) for row in chunk)
        last = chunk[-1].id


def find_user(session: Session, ref: str) -> User | None:
    """The user whose ``user_ref`` is ``ref`` (``u-`` and 12 hex digits), or None."""
    for user_id, alexa_user_id in _user_ids(session):
        if user_ref(alexa_user_id) == ref:
            return session.get(User, user_id)
    return None


@dataclass
class ReminderLine:
    id: int
    kind: str
    local_time: time
    days: str
    time_zone: str
    state: str
    next_local: str
    next_utc: str
    leased_by: str | None
    spoken: str | None


@dataclass
class DeliveryLine:
    occurrence_utc: str
    kind: str
    status: str
    attempts: int
    channel: str
    detail: str | None


@dataclass
class UserReport:
    ref: str
    user_id: int
    locale: str
    time_zone: str | None
    notifications_allowed: bool
    subscribed: bool
    blocked_reason: str | None
    created_utc: str
    has_skill_state: bool
    reminders: list[ReminderLine]
    deliveries: list[DeliveryLine]

    def as_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["reminders"] = [
            {**line.__dict__, "local_time": line.local_time.strftime("%H:%M")} for line in self.reminders
        ]
        data["deliveries"] = [d.__dict__ for d in self.deliveries]
        return data


def _utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def user_report(session: Session, ref: str, now: datetime) -> UserReport | None:
    user = find_user(session, ref)
    if user is None:
        return None
    reminder_lines = []
    kinds: dict[int, str] = {}
    owned = select(Reminder).where(Reminder.user_id == user.id).order_by(Reminder.id)
    for reminder in session.scalars(owned):
        kinds[reminder.id] = reminder.kind
        state = "off" if not reminder.enabled else "paused" if reminder.paused else "active"
        leased = reminder.lease_owner if reminder.lease_token and reminder.visible_at > now else None
        local = reminder.next_fire_at.astimezone(ZoneInfo(reminder.time_zone))
        reminder_lines.append(
            ReminderLine(
                id=reminder.id,
                kind=reminder.kind,
                local_time=reminder.local_time,
                days=days_text(reminder.days),
                time_zone=reminder.time_zone,
                state=state,
                next_local=local.strftime("%a %Y-%m-%d %H:%M %Z"),
                next_utc=_utc(reminder.next_fire_at),
                leased_by=leased,
                spoken=reminder.spoken,
            )
        )
    deliveries = [
        DeliveryLine(
            occurrence_utc=_utc(row.occurrence_at),
            kind=kinds.get(row.reminder_id, "?"),
            status=row.status,
            attempts=row.attempts,
            channel=row.channel,
            detail=row.detail,
        )
        for row in session.scalars(
            select(Delivery)
            .where(Delivery.user_id == user.id)
            .order_by(Delivery.occurrence_at.desc(), Delivery.id.desc())
            .limit(RECENT_DELIVERIES)
        )
    ]
    has_state = session.get(SkillState, user.alexa_user_id) is not None
    return UserReport(
        ref=ref,
        user_id=user.id,
        locale=user.locale,
        time_zone=user.time_zone,
        notifications_allowed=user.notifications_allowed,
        subscribed=user.subscribed,
        blocked_reason=user.delivery_blocked_reason,
        created_utc=_utc(user.created_at),
        has_skill_state=has_state,
        reminders=reminder_lines,
        deliveries=deliveries,
    )
