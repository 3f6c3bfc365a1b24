"""The habit as data: nights named in the user's zone, streaks, the bounded history, bad state."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from skill import habit

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def at(text: str) -> datetime:
    """A UTC instant from ``2026-11-20 21:30``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def finished_on(*nights: date, zone: str = BERLIN) -> habit.Habit:
    """A habit with the routine finished at 21:00 local on each night given."""
    kept = habit.Habit()
    for night in nights:
        local = datetime(night.year, night.month, night.day, 21, tzinfo=ZoneInfo(zone))
        kept = habit.record(kept, local.astimezone(UTC), zone)
    return kept


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


def test_a_night_runs_from_noon_to_noon_in_the_users_zone() -> None:
    # 23:30 UTC on the 20th is 00:30 on the 21st in Berlin: still the night of the 20th.
    assert habit.night_of(at("2026-11-20 23:30"), BERLIN) == date(2026, 11, 20)
    # 11:59 local the next morning is still that night; noon starts the next one.
    assert habit.night_of(at("2026-11-21 10:59"), BERLIN) == date(2026, 11, 20)
    assert habit.night_of(at("2026-11-21 11:00"), BERLIN) == date(2026, 11, 21)
    # 11:30 UTC is 12:30 in Berlin (the night of the 21st) but 06:30 in New York (still the 20th's).
    assert habit.night_of(at("2026-11-21 11:30"), BERLIN) == date(2026, 11, 21)
    assert habit.night_of(at("2026-11-21 11:30"), NEW_YORK) == date(2026, 11, 20)
    assert habit.night_of(at("2026-11-21 17:00"), NEW_YORK) == date(2026, 11, 21)


def test_consecutive_nights_make_a_streak_and_last_night_still_counts() -> None:
    first = date(2026, 11, 1)
    kept = finished_on(*days(first, 4))
    last = first + timedelta(days=3)
    assert habit.streak(kept, last) == 4  # done tonight
    assert habit.streak(kept, last + timedelta(days=1)) == 4  # tonight still to come
    assert habit.streak(kept, last + timedelta(days=2)) == 0  # a night was missed


def test_a_missed_night_starts_a_new_run() -> None:
    first = date(2026, 11, 1)
    kept = finished_on(first, first + timedelta(days=1), first + timedelta(days=3))
    assert habit.streak(kept, first + timedelta(days=3)) == 1
    assert kept.since == first + timedelta(days=3)


def test_the_same_night_twice_counts_once() -> None:
    night = date(2026, 11, 5)
    kept = finished_on(night)
    again = habit.record(kept, at("2026-11-05 22:00"), BERLIN)
    assert again.nights == (night,)
    assert habit.streak(again, night) == 1


def test_history_keeps_two_weeks_but_the_streak_keeps_counting() -> None:
    first = date(2026, 9, 1)
    kept = finished_on(*days(first, 40))
    last = first + timedelta(days=39)
    assert len(kept.nights) == habit.WINDOW_NIGHTS
    assert kept.nights[0] == last - timedelta(days=habit.WINDOW_NIGHTS - 1)
    assert habit.streak(kept, last) == 40
    saved = json.dumps(habit.stored(kept))
    assert len(saved) < 300, saved  # small: fourteen dates, the run's start, the zone


def test_two_weeks_back_oldest_first_with_tonight_last() -> None:
    tonight = date(2026, 11, 14)
    kept = finished_on(date(2026, 11, 1), date(2026, 11, 10), date(2026, 11, 13))
    nights = habit.recent(kept, tonight)
    assert [n for n, _ in nights] == days(date(2026, 11, 1), 14)
    assert [n for n, done in nights if done] == [date(2026, 11, 1), date(2026, 11, 10), date(2026, 11, 13)]


def test_without_a_zone_a_finish_waits_and_is_dated_once_a_zone_is_known() -> None:
    kept = habit.record(habit.Habit(), at("2026-11-02 20:00"), None)
    assert kept.nights == () and len(kept.pending) == 1
    assert habit.streak_at({habit.KEY: habit.stored(kept)}, at("2026-11-02 21:00")) == 0
    # The next night a zone is found: both finishes become nights, a two-night streak.
    kept = habit.record(kept, at("2026-11-03 20:00"), BERLIN)
    assert kept.pending == () and kept.zone == BERLIN
    assert kept.nights == (date(2026, 11, 2), date(2026, 11, 3))
    assert habit.streak(kept, date(2026, 11, 3)) == 2


def test_pending_finishes_are_bounded() -> None:
    kept = habit.Habit()
    for hour in range(40):
        kept = habit.record(kept, at("2026-11-01 00:00") + timedelta(hours=13 * hour), None)
    assert len(kept.pending) == habit.MAX_PENDING


def test_a_night_found_late_extends_the_run_backwards() -> None:
    kept = finished_on(date(2026, 11, 3), date(2026, 11, 4))
    kept = habit.record(kept, at("2026-11-02 20:00"), BERLIN)
    assert kept.since == date(2026, 11, 2)
    assert habit.streak(kept, date(2026, 11, 4)) == 3


def test_the_stored_form_reads_back_the_same() -> None:
    kept = finished_on(date(2026, 11, 3), date(2026, 11, 4))
    kept = habit.record(kept, at("2026-11-06 20:00"), None)  # the habit's own zone is used
    assert kept.zone == BERLIN and kept.pending == ()
    state = {habit.KEY: habit.stored(kept)}
    assert habit.read(json.loads(json.dumps(state))) == kept


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "nights",
        [],
        {"nights": "2026-11-03"},
        {"nights": ["not a date", 7, None], "since": "soon", "zone": "Mars/Olympus", "pending": ["x", 3]},
        {"nights": ["2026-11-03"], "since": "2027-01-01", "pending": ["2026-11-03T20:00:00"]},
    ],
)
def test_unreadable_state_reads_as_little_as_it_can_and_never_fails(raw: Any) -> None:
    kept = habit.read({habit.KEY: raw})
    assert kept.zone is None
    assert all(isinstance(n, date) for n in kept.nights)
    assert kept.pending == ()  # naive or broken instants are dropped
    if kept.nights:
        assert kept.since == kept.nights[-1]  # a start after the last night is not believed
    assert habit.streak(kept, date(2026, 11, 3)) in (0, 1)


def test_streak_at_uses_the_given_zone_or_the_kept_one() -> None:
    kept = finished_on(date(2026, 11, 3), date(2026, 11, 4), zone=NEW_YORK)
    state = {habit.KEY: habit.stored(kept)}
    evening = at("2026-11-05 23:00")  # 18:00 on the 5th in New York, midnight in Berlin
    assert habit.streak_at(state, evening) == 2
    assert habit.streak_at(state, evening, BERLIN) == 2
    # Two days later in either zone the run has been broken.
    assert habit.streak_at(state, evening + timedelta(days=2)) == 0
    assert habit.streak_at({}, evening) == 0


def test_a_gap_is_to_be_mentioned_once() -> None:
    kept = finished_on(date(2026, 11, 3))
    assert not habit.gap_to_mention(kept, date(2026, 11, 4))  # only last night: no gap
    assert habit.gap_to_mention(kept, date(2026, 11, 6))
    noted = habit.Habit(kept.nights, kept.since, kept.zone, kept.pending, noted=kept.last)
    assert not habit.gap_to_mention(noted, date(2026, 11, 6))
    assert not habit.gap_to_mention(habit.Habit(), date(2026, 11, 6))
