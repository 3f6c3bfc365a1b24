"""cramp-coach reminders stats / show USER_HASH: what an operator sees, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from scheduler.db import make_engine, make_session_factory
from scheduler.logs import user_ref
from scheduler.models import Delivery, Reminder
from scheduler.recurrence import WEEKDAYS
from scheduler.reports import days_text, oldest_due_age
from scheduler.service import ReminderService
from skill.cli import main

ALICE = "amzn1.ask.account.ALICE-REPORTS"
BOB = "amzn1.ask.account.BOB-REPORTS"


@pytest.fixture
def filled(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Alice: a stretch reminder 10 minutes overdue and one sent last night; Bob: a paused water one."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    service = ReminderService(sessions)
    (stretch,) = service.add(
        ALICE, "stretch", [time(21, 30)], time_zone="America/New_York", notifications_allowed=True
    )
    service.add(BOB, "water", [time(20, 0)], time_zone="Europe/Berlin", days=WEEKDAYS, spoken="weekdays at 8")
    now = datetime.now(UTC)
    with sessions.begin() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.id == stretch.id)
            .values(next_fire_at=now - timedelta(minutes=10), visible_at=now - timedelta(minutes=10))
        )
        user_id = session.get(Reminder, stretch.id).user_id  # type: ignore[union-attr]
        session.add(
            Delivery(
                reminder_id=stretch.id,
                user_id=user_id,
                occurrence_at=now - timedelta(hours=20),
                status="sent",
                channel="log",
                reference_id="ref1",
                attempts=1,
                detail="line\nforged",
            )
        )
    engine.dispose()
    return database_url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["reminders", *args])
    return result.exit_code, result.output


def test_stats_count_users_reminders_due_and_deliveries(filled: str) -> None:
    code, out = run("stats", "--json")
    assert code == 0, out
    found = json.loads(out)
    assert (found["users"], found["users_can_deliver"], found["users_blocked"]) == (2, 1, 0)
    assert found["reminders"] == {
        "stretch": {"active": 1, "paused": 0, "off": 0},
        "water": {"active": 0, "paused": 1, "off": 0},
    }
    assert found["due_now"] == 1
    assert 590 <= found["oldest_due_seconds"] <= 700
    assert found["deliveries_24h"] == {"sent": 1}
    # Bob's reminder is paused, Alice's is overdue: nothing lies in the next 24 hours.
    assert found["next_24h"] == 0

    code, text = run("stats")
    assert code == 0, text
    assert "users           2 (1 can receive notifications, 0 blocked)" in text
    assert "reminders       stretch  active 1  paused 0  off 0" in text
    assert "due now         1 (the oldest 6" in text
    assert "last 24 hours   sent 1" in text


def test_show_finds_a_user_by_the_hash_in_the_logs(filled: str) -> None:
    code, out = run("show", user_ref(ALICE))
    assert code == 0, out
    assert out.startswith(f"user {user_ref(ALICE)} (id ")
    assert "notifications allowed, subscribed" in out
    assert "stretch at 21:30 every day (America/New_York), active: next " in out
    assert "sent via log, 1 attempt(s) (line\\x0aforged)" in out, "stored text is printed safe"
    assert ALICE not in out

    code, out = run("show", user_ref(BOB), "--json")
    assert code == 0, out
    report = json.loads(out)
    (water,) = report["reminders"]
    assert (water["kind"], water["local_time"], water["days"], water["state"]) == (
        "water",
        "20:00",
        "weekdays",
        "paused",
    )
    assert water["next_local"].endswith(("CET", "CEST")) and report["deliveries"] == []
    assert BOB not in out


def test_show_says_clearly_when_there_is_no_such_user(filled: str) -> None:
    code, out = run("show", "u-000000000000")
    assert code == 1 and "no user with hash u-000000000000" in out
    code, out = run("show", "amzn1.ask.account.ALICE-REPORTS")
    assert code == 2 and "a user hash is u- and 12 hex digits" in out


def test_days_read_as_words() -> None:
    assert days_text(0b1111111) == "every day"
    assert days_text(0b0000101) == "Mon Wed"


def test_the_oldest_due_age_is_zero_when_nothing_is_due(sqlite_url: str) -> None:
    sessions = make_session_factory(make_engine(sqlite_url))
    with sessions() as session:
        assert oldest_due_age(session, datetime.now(UTC)) == 0.0
