"""ReminderService on both backends: what the skill relies on, without HTTP in between."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from scheduler import ReminderError, ReminderService
from scheduler.db import make_engine, make_session_factory
from scheduler.models import Delivery, Reminder, SkillState, User
from scheduler.recurrence import EVERY_DAY, WEEKDAYS
from tests.conftest import Clock

ALICE = "amzn1.ask.account.ALICE"
BOB = "amzn1.ask.account.BOB"


@pytest.fixture
def service(database_url: str, clock: Clock) -> ReminderService:
    clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    return ReminderService(make_session_factory(make_engine(database_url)), clock=clock)


def test_add_is_idempotent_for_the_same_kind_time_and_days(service: ReminderService) -> None:
    first = service.add(
        ALICE, "stretch", [time(21, 30)], time_zone="Europe/Berlin", notifications_allowed=True
    )
    again = service.add(
        ALICE, "stretch", [time(21, 30)], time_zone="Europe/Berlin", notifications_allowed=True
    )
    assert [r.id for r in first] == [r.id for r in again]
    assert len(service.list(ALICE)) == 1
    service.add(ALICE, "stretch", [time(21, 30)], time_zone="Europe/Berlin", days=WEEKDAYS)
    assert len(service.list(ALICE)) == 2, "different days make a different reminder"


def test_next_fire_time_is_in_the_reminders_zone(service: ReminderService) -> None:
    [reminder] = service.add(ALICE, "water", [time(14, 0)], time_zone="Asia/Kolkata")
    # 14:00 in Kolkata (UTC+5:30) is 08:30 UTC, already past at 12:00 UTC: tomorrow.
    assert reminder.next_fire_at == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


def test_new_user_without_permission_gets_paused_reminders(service: ReminderService) -> None:
    [reminder] = service.add(ALICE, "stretch", [time(21, 0)], time_zone="UTC")
    assert reminder.paused
    assert service.set_notifications_allowed(ALICE, True, datetime(2026, 11, 23, 12, 1, tzinfo=UTC))
    assert not service.list(ALICE)[0].paused


def test_bad_input_is_refused_with_a_code(service: ReminderService) -> None:
    with pytest.raises(ReminderError) as err:
        service.add(ALICE, "yoga", [time(9)], time_zone="UTC")
    assert err.value.code == "bad_kind"
    with pytest.raises(ReminderError) as err:
        service.add(ALICE, "water", [time(9)], time_zone="Mars/Olympus")
    assert err.value.code == "bad_zone"
    with pytest.raises(ReminderError) as err:
        service.add(ALICE, "water", [], time_zone="UTC")
    assert err.value.code == "no_time"


def test_move_needs_an_unambiguous_reminder(service: ReminderService, clock: Clock) -> None:
    service.add(ALICE, "water", [time(10), time(14)], time_zone="UTC", notifications_allowed=True)
    with pytest.raises(ReminderError) as err:
        service.move(ALICE, "water", time(15))
    assert err.value.code == "ambiguous"
    moved = service.move(ALICE, "water", time(15), from_time=time(14)).view
    assert moved.local_time == time(15)
    assert moved.next_fire_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    with pytest.raises(ReminderError) as err:
        service.move(ALICE, "stretch", time(22))
    assert err.value.code == "not_found"


def test_cancel_one_kind_or_all_and_only_mine(service: ReminderService) -> None:
    service.add(ALICE, "water", [time(10), time(14)], time_zone="UTC")
    service.add(ALICE, "stretch", [time(21)], time_zone="UTC")
    service.add(BOB, "water", [time(10)], time_zone="UTC")
    assert service.cancel(ALICE, "water").count == 2
    assert [r.kind for r in service.list(ALICE)] == ["stretch"]
    assert service.cancel(ALICE).count == 1
    assert service.list(ALICE) == []
    assert len(service.list(BOB)) == 1
    assert service.cancel("amzn1.ask.account.NOBODY").count == 0


def test_forget_user_deletes_every_row_of_that_user(service: ReminderService, database_url: str) -> None:
    [reminder] = service.add(ALICE, "stretch", [time(21)], time_zone="UTC")
    service.add(BOB, "stretch", [time(21)], time_zone="UTC")
    sessions = make_session_factory(make_engine(database_url))
    with sessions.begin() as session:
        alice = session.scalar(select(User).where(User.alexa_user_id == ALICE))
        assert alice is not None
        session.add(SkillState(alexa_user_id=ALICE, attributes={"disclaimer_heard": True}))
        session.add(
            Delivery(
                reminder_id=reminder.id,
                user_id=alice.id,
                occurrence_at=reminder.next_fire_at,
                status="sent",
                channel="log",
                reference_id="cc~test",
            )
        )
    service.forget_user(ALICE)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.alexa_user_id == ALICE)) == 0
        assert session.scalar(select(func.count()).select_from(Reminder)) == 1
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert session.get(SkillState, ALICE) is None


def test_out_of_order_subscription_events_newest_wins(service: ReminderService) -> None:
    service.add(ALICE, "water", [time(10)], time_zone="UTC", notifications_allowed=True)
    t = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert service.set_subscription(ALICE, False, t)
    assert not service.set_subscription(ALICE, True, t - timedelta(seconds=1))
    assert service.list(ALICE)[0].paused
    assert service.set_subscription(ALICE, True, t + timedelta(seconds=1))
    assert not service.list(ALICE)[0].paused


def test_take_greeting_reads_once(service: ReminderService, database_url: str) -> None:
    service.add(ALICE, "stretch", [time(21)], time_zone="UTC")
    with make_session_factory(make_engine(database_url)).begin() as session:
        user = session.scalar(select(User).where(User.alexa_user_id == ALICE))
        assert user is not None
        user.pending_greeting = "stretch"
    assert service.take_greeting(ALICE) == "stretch"
    assert service.take_greeting(ALICE) is None
    assert service.take_greeting(BOB) is None


def test_clear_greeting_clears_only_the_kind_that_was_said(
    service: ReminderService, database_url: str
) -> None:
    service.add(ALICE, "stretch", [time(21)], time_zone="UTC")
    sessions = make_session_factory(make_engine(database_url))
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.alexa_user_id == ALICE))
        assert user is not None
        user.pending_greeting = "water"  # delivered after the skill read "stretch"
    assert not service.clear_greeting(ALICE, "stretch")
    assert service.take_greeting(ALICE) == "water", "the newer greeting is kept for the next visit"
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.alexa_user_id == ALICE))
        assert user is not None
        user.pending_greeting = "stretch"
    assert service.clear_greeting(ALICE, "stretch")
    assert service.take_greeting(ALICE) is None
    assert not service.clear_greeting(BOB, "stretch")


def test_every_day_default(service: ReminderService) -> None:
    [reminder] = service.add(ALICE, "water", [time(8)], time_zone="UTC")
    assert reminder.days == EVERY_DAY
