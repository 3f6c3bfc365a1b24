"""What a device reminder is on the wire: its trigger (our DST rules, exactly), its words, its length."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from ask_sdk_core.serialize import DefaultSerializer

from scheduler.placements import Placement
from scheduler.recurrence import EVERY_DAY, next_occurrence
from skill.content import SUPPORTED_LOCALES, for_locale
from skill.device_reminders import SPOKEN_TEXT_MAX, reminder_request, words_for
from skill.phrasing import reminder_speech, say_date, say_when
from skill.slots import parse_duration
from tests.stubs.alexa_api import validate_reminder

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def wire(placement: Placement, now: datetime = NOW) -> dict[str, object]:
    body = reminder_request(placement, words_for(placement), now=now)
    serialized: dict[str, object] = json.loads(json.dumps(DefaultSerializer().serialize(body)))
    return serialized


def test_an_occurrence_is_a_one_off_absolute_reminder_at_its_local_time() -> None:
    placement = Placement(7, datetime(2026, 11, 23, 20, 30, tzinfo=UTC), "stretch", "Europe/Berlin", "en-GB")
    body = wire(placement)
    assert body == {
        "requestTime": "2026-11-23T08:00:00",
        "trigger": {
            "type": "SCHEDULED_ABSOLUTE",
            "scheduledTime": "2026-11-23T21:30:00",
            "timeZoneId": "Europe/Berlin",
        },
        "alertInfo": {
            "spokenInfo": {
                "content": [
                    {"locale": "en-GB", "text": reminder_speech(for_locale("en-GB"), "stretch", None)}
                ]
            }
        },
        "pushNotification": {"status": "ENABLED"},
    }
    problems, fires_at = validate_reminder(body, NOW)
    assert problems == [] and fires_at == placement.occurrence_at, "the stub takes it, for that instant"


def test_a_time_a_fall_back_repeats_is_placed_relative_to_fire_the_first_one() -> None:
    # 1 November 2026 in New York: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    first = next_occurrence(
        datetime(2026, 10, 31, 12, tzinfo=UTC),
        datetime(2026, 1, 1, 1, 30).time(),
        "America/New_York",
        EVERY_DAY,
    )
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    now = first - timedelta(hours=12)
    body = wire(Placement(1, first, "water", "America/New_York", "en-US"), now)
    assert body["trigger"] == {"type": "SCHEDULED_RELATIVE", "offsetInSeconds": 12 * 3600}
    assert validate_reminder(body, now) == ([], first)


def test_a_time_a_spring_forward_skips_is_placed_where_our_rule_fires_it() -> None:
    # 8 March 2026 in New York: 02:30 does not exist; our rule fires when the gap ends, 03:00 EDT.
    occurrence = next_occurrence(
        datetime(2026, 3, 7, 12, tzinfo=UTC),
        datetime(2026, 1, 1, 2, 30).time(),
        "America/New_York",
        EVERY_DAY,
    )
    assert occurrence == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    body = wire(
        Placement(1, occurrence, "water", "America/New_York", "en-US"), occurrence - timedelta(hours=6)
    )
    assert body["trigger"] == {
        "type": "SCHEDULED_ABSOLUTE",
        "scheduledTime": "2026-03-08T03:00:00",
        "timeZoneId": "America/New_York",
    }


def test_the_words_are_ours_and_useful() -> None:
    words = for_locale("en-US")
    assert reminder_speech(words, "stretch", None) == (
        "Time for your bedtime stretches: the wall calf stretch first. "
        "Say 'Alexa, open Cramp Coach' and I'll guide you."
    )
    assert reminder_speech(words, "water", None) == "Time for a glass of water."
    assert reminder_speech(words, "stretch", 1) == reminder_speech(words, "stretch", None), "no streak of one"
    assert reminder_speech(words, "stretch", 4).endswith("I'll guide you. That's 4 nights in a row.")
    assert reminder_speech(words, "water", 4) == "Time for a glass of water.", "the streak is the stretches'"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_device_text_fits_the_spoken_limit_even_with_a_long_streak(locale: str) -> None:
    words = for_locale(locale)
    longest = max(
        len(reminder_speech(words, kind, streak))
        for kind in ("stretch", "water")
        for streak in (None, 2, 99_999)
    )
    assert longest <= SPOKEN_TEXT_MAX


def test_text_over_the_limit_is_refused_before_any_call() -> None:
    placement = Placement(1, NOW + timedelta(hours=1), "water", "UTC", "en-US")
    with pytest.raises(ValueError, match="over 250"):
        reminder_request(placement, "x" * (SPOKEN_TEXT_MAX + 1), now=NOW)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("P1W", timedelta(days=7)),
        ("P3D", timedelta(days=3)),
        ("PT2H", timedelta(hours=2)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P1M", timedelta(days=30)),
        ("p2w", timedelta(days=14)),
        ("P", None),
        ("PT", None),
        ("P1WT", None),
        ("a week", None),
        ("", None),
        (None, None),
        ("P99999D", None),
    ],
)
def test_amazon_durations_are_read_as_iso_8601(value: str | None, expected: timedelta | None) -> None:
    assert parse_duration(value) == expected


def test_dates_and_days_are_said_in_the_reminders_zone() -> None:
    words = for_locale("en-US")
    # 23:30 UTC on Sunday 29 November is already Monday 30 November in Berlin.
    assert (
        say_date(words, datetime(2026, 11, 29, 23, 30, tzinfo=UTC), "Europe/Berlin") == "Monday, November 30"
    )
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert say_when(words, datetime(2026, 11, 23, 20, 30, tzinfo=UTC), "Europe/Berlin", now) == "tonight"
    assert say_when(words, datetime(2026, 11, 23, 14, 0, tzinfo=UTC), "Europe/Berlin", now) == "today"
    assert say_when(words, datetime(2026, 11, 24, 20, 30, tzinfo=UTC), "Europe/Berlin", now) == "tomorrow"
    assert say_when(words, datetime(2026, 11, 26, 20, 30, tzinfo=UTC), "Europe/Berlin", now) == "on Thursday"
