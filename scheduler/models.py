"""The tables: users, their reminders, and one delivery row per reminder occurrence."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    and_,
    false,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from scheduler.db import UTCDateTime, utcnow

# Stable constraint names, so Alembic migrations behave the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Alexa user ids are opaque strings of a few hundred characters.
    alexa_user_id: Mapped[str] = mapped_column(String(512), unique=True)
    locale: Mapped[str] = mapped_column(String(16), default="en-US")
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Notification permission (alexa::devices:all:notifications:write) as last reported by Alexa.
    notifications_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Reminders permission (alexa::alerts:reminders:skill:readwrite): the device itself says each
    # occurrence (a Reminders API reminder the skill places ahead of time); without it, notifications.
    # (A server default too: rows written before this column, or by bulk loaders, have not granted it.)
    reminders_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    permission_changed_at: Mapped[datetime | None]
    # Proactive subscription; events may arrive out of order, so the newest timestamp wins.
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    subscription_changed_at: Mapped[datetime | None]
    # Set when Alexa answered 403 for this user: delivery stops until permission is granted again.
    delivery_blocked_reason: Mapped[str | None] = mapped_column(String(200))
    # The kind of the last reminder delivered, so the next session can greet with its purpose.
    pending_greeting: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reminders: Mapped[list[Reminder]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @hybrid_property
    def can_notify(self) -> bool:
        """Whether a Proactive Events notification may go to this user."""
        return self.notifications_allowed and self.subscribed and self.delivery_blocked_reason is None

    @can_notify.inplace.expression
    @classmethod
    def _can_notify_expression(cls) -> ColumnElement[bool]:
        # The same rule in SQL, so the worker's queries never restate it.
        return and_(cls.notifications_allowed, cls.subscribed, cls.delivery_blocked_reason.is_(None))

    @hybrid_property
    def can_deliver(self) -> bool:
        """Whether any reminder can reach this user: on the device, or as a notification."""
        return self.reminders_allowed or self.can_notify

    @can_deliver.inplace.expression
    @classmethod
    def _can_deliver_expression(cls) -> ColumnElement[bool]:
        return or_(cls.reminders_allowed, cls.can_notify)


class Reminder(Base):
    """One recurring reminder at one local wall time.

    ``next_fire_at`` is the next occurrence in UTC. ``visible_at`` is when a worker may claim the
    row: equal to ``next_fire_at`` while idle, pushed to the lease expiry while claimed. The due
    query therefore reads one indexed column, and a crashed worker's claim comes due by itself.
    """

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "stretch" | "water"
    local_time: Mapped[time] = mapped_column(Time())
    time_zone: Mapped[str] = mapped_column(String(64))
    days: Mapped[int] = mapped_column(Integer)  # bit mask, Monday = bit 0 (see recurrence.py)
    # The user's own words for when ("nine thirty pm", "weekdays"), to read back as they said it.
    spoken: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Paused while the user has granted neither permission; delivery resumes when they grant one.
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # "Pause my reminders for a week": no occurrence before this instant (next_fire_at is after it).
    paused_until: Mapped[datetime | None]
    # "Skip tonight's reminder": the local date (in time_zone) whose occurrence is skipped.
    skip_on: Mapped[date | None] = mapped_column(Date())
    next_fire_at: Mapped[datetime]
    visible_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    # A fresh token per claim: a stale worker whose lease was taken over cannot complete the claim.
    lease_token: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="reminders")

    __table_args__ = (
        # The due query's index: only live rows, ordered by when they may be claimed.
        Index(
            "ix_reminders_due",
            "visible_at",
            postgresql_where=text("enabled AND NOT paused"),
            sqlite_where=text("enabled AND NOT paused"),
        ),
    )


class Delivery(Base):
    """The delivery log: one row per reminder occurrence, whatever happened to it."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminders.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    occurrence_at: Mapped[datetime]
    # A notification: sending -> sent | duplicate | missed | rejected | forbidden | failed, or
    # sending <-> retrying while a transient failure waits in the queue (within the grace window).
    # A device reminder (channel 'device'): sending -> messaged (Alexa took the skill message) ->
    # placing (the skill is calling the Reminders API) -> placed, or unplaced; at the fire time an
    # occurrence that is not placed goes out as a notification instead. A placed one the user
    # changes is skipped | paused | moved, or removed (deleted in the Alexa app). See placements.py.
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    reference_id: Mapped[str] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text)
    # The Reminders API's id of the device reminder placed for this occurrence.
    alert_token: Mapped[str | None] = mapped_column(String(256), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("reminder_id", "occurrence_at"),)


class SkillState(Base):
    """Per-user attributes of the voice skill, kept by the ask-sdk persistence adapter.

    Keyed by the Alexa user id rather than ``users.id`` so that a first question (no reminders)
    needs no users row; SkillDisabled deletes both.
    """

    __tablename__ = "skill_state"

    alexa_user_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
