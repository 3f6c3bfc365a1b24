"""Tests for scheduler.recurrence: wall-clock reminders across DST transitions.

Transition facts (dates, instants, offsets) are derived from zoneinfo by scanning UTC, independently
of the code under test, and cross-checked against the dates we expect for 2026.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pytest

from scheduler.recurrence import (
    EVERY_DAY,
    FRIDAY,
    MONDAY,
    SATURDAY,
    SUNDAY,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    WEEKDAYS,
    WEEKENDS,
    days_from_weekdays,
    local_instant,
    next_occurrence,
    upcoming,
    weekdays_in,
)

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe"]

# (spring-forward day, fall-back day, gap/overlap size) in 2026. Southern hemisphere zones spring
# forward in October and fall back in April. Verified against zoneinfo in test_transition_dates.
EXPECTED_2026: dict[str, tuple[date, date, timedelta]] = {
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1), timedelta(hours=1)),
    "Europe/Berlin": (date(2026, 3, 29), date(2026, 10, 25), timedelta(hours=1)),
    "Australia/Sydney": (date(2026, 10, 4), date(2026, 4, 5), timedelta(hours=1)),
    "Australia/Lord_Howe": (date(2026, 10, 4), date(2026, 4, 5), timedelta(minutes=30)),
}

BEDTIME = time(21, 30)
ONE_US = timedelta(microseconds=1)


# --------------------------------------------------------------------------- oracle helpers


@dataclass(frozen=True)
class Transition:
    zone: ZoneInfo
    instant: datetime  # aware UTC, first instant with the new offset
    offset_before: timedelta
    offset_after: timedelta

    @property
    def is_spring_forward(self) -> bool:
        return self.offset_after > self.offset_before

    @property
    def wall_before(self) -> datetime:
        """Naive wall reading the clock jumps *from* (gap start / overlap end)."""
        return (self.instant + self.offset_before).replace(tzinfo=None)

    @property
    def wall_after(self) -> datetime:
        """Naive wall reading the clock jumps *to* (gap end / overlap start)."""
        return (self.instant + self.offset_after).replace(tzinfo=None)

    @property
    def day(self) -> date:
        return self.wall_before.date()

    @property
    def skipped(self) -> tuple[datetime, datetime]:
        """Half-open naive wall interval that never appears (spring-forward only)."""
        return self.wall_before, self.wall_after


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    off = instant.astimezone(zone).utcoffset()
    assert off is not None
    return off


def find_transitions(zone: ZoneInfo, start: datetime, end: datetime, step: timedelta) -> list[Transition]:
    """Scan UTC in `step`s, then bisect each offset change down to the second."""
    found: list[Transition] = []
    t = start
    off = _offset(zone, t)
    while t < end:
        nxt = t + step
        new_off = _offset(zone, nxt)
        if new_off != off:
            lo, hi = t, nxt
            while hi - lo > timedelta(seconds=1):
                mid = (lo + (hi - lo) / 2).replace(microsecond=0)
                if _offset(zone, mid) == off:
                    lo = mid
                else:
                    hi = mid
            found.append(Transition(zone, hi, off, _offset(zone, hi)))
            off = new_off
        t = nxt
    return found


@cache
def transitions_2026(zone_name: str) -> tuple[Transition, ...]:
    zone = ZoneInfo(zone_name)
    return tuple(
        find_transitions(
            zone, datetime(2025, 12, 25, tzinfo=UTC), datetime(2027, 1, 5, tzinfo=UTC), timedelta(hours=1)
        )
    )


def spring(zone_name: str) -> Transition:
    (tr,) = [t for t in transitions_2026(zone_name) if t.is_spring_forward and t.day.year == 2026]
    return tr


def fall(zone_name: str) -> Transition:
    (tr,) = [t for t in transitions_2026(zone_name) if not t.is_spring_forward and t.day.year == 2026]
    return tr


def wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def oracle_instant(day: date, at: time, zone_name: str) -> datetime:
    """Expected firing instant computed from the transition table, not from the module."""
    zone = ZoneInfo(zone_name)
    naive = datetime.combine(day, at)
    for tr in transitions_2026(zone_name):
        start, end = tr.skipped
        if tr.is_spring_forward and start <= naive < end:
            return tr.instant
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    assert wall(midnight, zone) == midnight.replace(tzinfo=None), "midnight must exist in test zones"
    return midnight.astimezone(UTC)


def fires_on(day: date, at: time, zone: ZoneInfo, days: int = EVERY_DAY) -> list[datetime]:
    """Every firing whose instant falls within local `day`, found by chaining next_occurrence."""
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    out: list[datetime] = []
    current = start - ONE_US
    for _ in range(5):  # bounded so a "not strictly after" bug fails instead of hanging
        nxt = next_occurrence(current, at, zone, days)
        assert nxt > current, "next_occurrence must move strictly forward"
        if nxt >= end:
            return out
        out.append(current := nxt)
    raise AssertionError(f"too many firings on {day}: {out}")


def mid(a: datetime, b: datetime) -> time:
    return (a + (b - a) / 2).time()


def minus_minute(t: datetime) -> time:
    return (t - timedelta(minutes=1)).time()


def plus_minute(t: datetime) -> time:
    return (t + timedelta(minutes=1)).time()


# --------------------------------------------------------------------------- transition facts


@pytest.mark.parametrize("zone_name", ZONES)
def test_transition_dates_2026_match_zoneinfo(zone_name: str) -> None:
    spring_day, fall_day, size = EXPECTED_2026[zone_name]
    in_2026 = [t for t in transitions_2026(zone_name) if t.day.year == 2026]
    assert len(in_2026) == 2
    assert spring(zone_name).day == spring_day
    assert fall(zone_name).day == fall_day
    assert spring(zone_name).offset_after - spring(zone_name).offset_before == size
    assert fall(zone_name).offset_before - fall(zone_name).offset_after == size


# Hard-coded expectations (independent of the scanning oracle above).
# zone, day, at, expected UTC instant, expected local wall time.
GAP_CASES = [
    ("America/New_York", date(2026, 3, 8), time(2, 30),
     datetime(2026, 3, 8, 7, 0, tzinfo=UTC), time(3, 0)),
    ("Europe/Berlin", date(2026, 3, 29), time(2, 30),
     datetime(2026, 3, 29, 1, 0, tzinfo=UTC), time(3, 0)),
    ("Australia/Sydney", date(2026, 10, 4), time(2, 30),
     datetime(2026, 10, 3, 16, 0, tzinfo=UTC), time(3, 0)),
    ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15),
     datetime(2026, 10, 3, 15, 30, tzinfo=UTC), time(2, 30)),
]  # fmt: skip
# zone, day, at, first (expected) UTC instant, second (never fired) UTC instant.
OVERLAP_CASES = [
    ("America/New_York", date(2026, 11, 1), time(1, 30),
     datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
    ("Europe/Berlin", date(2026, 10, 25), time(2, 30),
     datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
    ("Australia/Sydney", date(2026, 4, 5), time(2, 30),
     datetime(2026, 4, 4, 15, 30, tzinfo=UTC), datetime(2026, 4, 4, 16, 30, tzinfo=UTC)),
    ("Australia/Lord_Howe", date(2026, 4, 5), time(1, 45),
     datetime(2026, 4, 4, 14, 45, tzinfo=UTC), datetime(2026, 4, 4, 15, 15, tzinfo=UTC)),
]  # fmt: skip


@pytest.mark.parametrize(("zone_name", "day", "at", "expected", "expected_wall"), GAP_CASES)
def test_local_instant_gap_maps_to_gap_end(
    zone_name: str, day: date, at: time, expected: datetime, expected_wall: time
) -> None:
    zone = ZoneInfo(zone_name)
    got = local_instant(day, at, zone)
    assert got == expected
    assert got.tzinfo is UTC
    assert got.astimezone(zone).time() == expected_wall
    assert got == spring(zone_name).instant


@pytest.mark.parametrize(("zone_name", "day", "at", "first", "second"), OVERLAP_CASES)
def test_local_instant_overlap_maps_to_first_occurrence(
    zone_name: str, day: date, at: time, first: datetime, second: datetime
) -> None:
    zone = ZoneInfo(zone_name)
    # Sanity: both instants really read `at` locally, i.e. the hour really repeats.
    assert wall(first, zone) == wall(second, zone) == datetime.combine(day, at)
    assert local_instant(day, at, zone) == first
    assert fires_on(day, at, zone) == [first]
    # Between the two readings, the repeated one is not an occurrence: next is tomorrow.
    tomorrow = next_occurrence(first, at, zone, EVERY_DAY)
    assert next_occurrence(second - ONE_US, at, zone, EVERY_DAY) == tomorrow
    assert wall(tomorrow, zone) == datetime.combine(day + timedelta(days=1), at)


# --------------------------------------------------------------------------- DST, derived from zoneinfo


@pytest.mark.parametrize("zone_name", ZONES)
def test_time_inside_gap_fires_once_right_after_gap(zone_name: str) -> None:
    zone, tr = ZoneInfo(zone_name), spring(zone_name)
    at = mid(*tr.skipped)
    fired = fires_on(tr.day, at, zone)
    assert fired == [tr.instant]
    assert wall(fired[0], zone) == tr.wall_after
    # Chaining from the firing goes to the next day at the normal wall time.
    nxt = next_occurrence(fired[0], at, zone, EVERY_DAY)
    assert wall(nxt, zone) == datetime.combine(tr.day + timedelta(days=1), at)
    # Every point in the gap (start inclusive, end exclusive) resolves to the gap end.
    start, end = tr.skipped
    for t in (start, start + timedelta(seconds=1), end - timedelta(seconds=1)):
        assert local_instant(t.date(), t.time(), zone) == tr.instant


@pytest.mark.parametrize("zone_name", ZONES)
def test_time_inside_repeated_hour_fires_exactly_once(zone_name: str) -> None:
    zone, tr = ZoneInfo(zone_name), fall(zone_name)
    # On fall-back the repeated wall interval is [wall_after, wall_before).
    for naive in (tr.wall_after, tr.wall_after + (tr.wall_before - tr.wall_after) / 2,
                  tr.wall_before - timedelta(seconds=1)):  # fmt: skip
        fired = fires_on(tr.day, naive.time(), zone)
        assert len(fired) == 1
        assert wall(fired[0], zone) == naive
        assert fired[0] < tr.instant, "must be the first (pre-transition) reading"
        assert _offset(zone, fired[0]) == tr.offset_before


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize("kind", ["spring", "fall"])
def test_times_just_around_transition_keep_wall_time(zone_name: str, kind: str) -> None:
    zone = ZoneInfo(zone_name)
    tr = spring(zone_name) if kind == "spring" else fall(zone_name)
    # Just before the affected wall interval (old offset) and at/after its end (new offset).
    early, late = min(tr.wall_before, tr.wall_after), max(tr.wall_before, tr.wall_after)
    cases = [(minus_minute(early), tr.offset_before), (late.time(), tr.offset_after),
             (plus_minute(late), tr.offset_after)]  # fmt: skip
    for at, offset in cases:
        fired = fires_on(tr.day, at, zone)
        assert len(fired) == 1, at
        assert fired[0].astimezone(zone).time() == at
        assert fired[0].astimezone(zone).date() == tr.day
        assert _offset(zone, fired[0]) == offset


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize("kind", ["spring", "fall"])
def test_bedtime_on_transition_day_and_normal_day(zone_name: str, kind: str) -> None:
    zone = ZoneInfo(zone_name)
    tr = spring(zone_name) if kind == "spring" else fall(zone_name)
    for day in (tr.day, tr.day + timedelta(days=7)):
        fired = fires_on(day, BEDTIME, zone)
        assert len(fired) == 1
        assert wall(fired[0], zone) == datetime.combine(day, BEDTIME)
        assert _offset(zone, fired[0]) == tr.offset_after


def test_normal_day_bedtime_hardcoded() -> None:
    # 2026-06-15: EDT (-4), CEST (+2), AEST (+10), Lord Howe standard (+10:30).
    day = date(2026, 6, 15)
    expected = {
        "America/New_York": datetime(2026, 6, 16, 1, 30, tzinfo=UTC),
        "Europe/Berlin": datetime(2026, 6, 15, 19, 30, tzinfo=UTC),
        "Australia/Sydney": datetime(2026, 6, 15, 11, 30, tzinfo=UTC),
        "Australia/Lord_Howe": datetime(2026, 6, 15, 11, 0, tzinfo=UTC),
    }
    for zone_name, instant in expected.items():
        after = datetime.combine(day, time(12), tzinfo=ZoneInfo(zone_name))
        assert next_occurrence(after, BEDTIME, zone_name, EVERY_DAY) == instant


# --------------------------------------------------------------------------- day masks


def test_day_constants() -> None:
    assert [MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY] == [1, 2, 4, 8, 16, 32, 64]
    assert MONDAY | TUESDAY | WEDNESDAY | THURSDAY | FRIDAY == WEEKDAYS
    assert SATURDAY | SUNDAY == WEEKENDS
    assert WEEKDAYS | WEEKENDS == EVERY_DAY
    assert WEEKDAYS & WEEKENDS == 0


def test_mask_conversions_round_trip() -> None:
    assert days_from_weekdays([]) == 0
    assert days_from_weekdays([0, 1, 2, 3, 4]) == WEEKDAYS
    assert days_from_weekdays([6, 5, 5]) == WEEKENDS
    assert weekdays_in(WEEKENDS) == [5, 6]
    assert weekdays_in(0) == []
    for mask in range(EVERY_DAY + 1):
        assert days_from_weekdays(weekdays_in(mask)) == mask


@pytest.mark.parametrize("bad", [[-1], [7], [0, 9]])
def test_days_from_weekdays_rejects_out_of_range(bad: list[int]) -> None:
    with pytest.raises(ValueError):
        days_from_weekdays(bad)


@pytest.mark.parametrize("bad", [-1, 128, 255])
def test_weekdays_in_rejects_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError):
        weekdays_in(bad)


@pytest.mark.parametrize("zone_name", ZONES)
def test_weekdays_reminder_set_friday_evening_fires_monday(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    friday_evening = datetime(2026, 6, 12, 22, 0, tzinfo=zone)
    assert friday_evening.weekday() == 4
    got = next_occurrence(friday_evening, BEDTIME, zone, WEEKDAYS)
    assert wall(got, zone) == datetime(2026, 6, 15, 21, 30)  # Monday
    # Before the time on Friday, it still fires that Friday.
    got = next_occurrence(friday_evening.replace(hour=21), BEDTIME, zone, WEEKDAYS)
    assert wall(got, zone) == datetime(2026, 6, 12, 21, 30)


def test_weekdays_across_spring_forward_weekend() -> None:
    # Friday 2026-03-06 22:00 EST; DST starts Sunday 03-08; Monday 21:30 is EDT (UTC-4).
    after = datetime(2026, 3, 6, 22, 0, tzinfo=ZoneInfo("America/New_York"))
    got = next_occurrence(after, BEDTIME, "America/New_York", WEEKDAYS)
    assert got == datetime(2026, 3, 10, 1, 30, tzinfo=UTC)


def test_weekend_and_single_day_masks() -> None:
    zone = ZoneInfo("Europe/Berlin")
    monday = datetime(2026, 6, 15, 8, 0, tzinfo=zone)
    assert wall(next_occurrence(monday, BEDTIME, zone, WEEKENDS), zone) == datetime(2026, 6, 20, 21, 30)
    sunday_late = datetime(2026, 6, 21, 23, 0, tzinfo=zone)
    assert wall(next_occurrence(sunday_late, BEDTIME, zone, SUNDAY), zone) == datetime(2026, 6, 28, 21, 30)
    fired = upcoming(monday, BEDTIME, zone, days_from_weekdays([0, 3]), 4)
    assert [wall(f, zone).date() for f in fired] == [
        date(2026, 6, 15),
        date(2026, 6, 18),
        date(2026, 6, 22),
        date(2026, 6, 25),
    ]


# --------------------------------------------------------------------------- semantics and errors


@pytest.mark.parametrize("zone_name", ZONES)
def test_strictly_after(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    occurrence = local_instant(date(2026, 7, 1), BEDTIME, zone)
    assert next_occurrence(occurrence - ONE_US, BEDTIME, zone, EVERY_DAY) == occurrence
    nxt = next_occurrence(occurrence, BEDTIME, zone, EVERY_DAY)
    assert wall(nxt, zone) == datetime(2026, 7, 2, 21, 30)
    # The same instant expressed in another zone is still "not strictly after".
    assert next_occurrence(occurrence.astimezone(ZoneInfo("Asia/Tokyo")), BEDTIME, zone, EVERY_DAY) == nxt


def test_after_in_any_timezone_and_zone_as_string() -> None:
    after_utc = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    expected = next_occurrence(after_utc, BEDTIME, ZoneInfo("Australia/Sydney"), EVERY_DAY)
    for tz in (ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Los_Angeles"), ZoneInfo("Australia/Sydney")):
        assert next_occurrence(after_utc.astimezone(tz), BEDTIME, "Australia/Sydney", EVERY_DAY) == expected
    assert expected.tzinfo is UTC


def test_naive_after_raises() -> None:
    with pytest.raises(ValueError):
        next_occurrence(datetime(2026, 7, 1, 12, 0), BEDTIME, "Europe/Berlin", EVERY_DAY)
    with pytest.raises(ValueError):
        upcoming(datetime(2026, 7, 1, 12, 0), BEDTIME, "Europe/Berlin", EVERY_DAY, 0)


@pytest.mark.parametrize("bad_mask", [0, -1, 128])
def test_empty_or_invalid_mask_raises(bad_mask: int) -> None:
    after = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        next_occurrence(after, BEDTIME, "Europe/Berlin", bad_mask)
    with pytest.raises(ValueError):
        upcoming(after, BEDTIME, "Europe/Berlin", bad_mask, 0)


def test_aware_at_and_negative_count_raise() -> None:
    after = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        next_occurrence(after, time(21, 30, tzinfo=UTC), "Europe/Berlin", EVERY_DAY)
    with pytest.raises(ValueError):
        upcoming(after, BEDTIME, "Europe/Berlin", EVERY_DAY, -1)
    assert upcoming(after, BEDTIME, "Europe/Berlin", EVERY_DAY, 0) == []


def test_whole_skipped_local_day_has_no_occurrence() -> None:
    # Samoa jumped from the end of Thu 2011-12-29 (-10) to Sat 2011-12-31 (+14); Dec 30 never existed.
    zone = ZoneInfo("Pacific/Apia")
    thursday = local_instant(date(2011, 12, 29), BEDTIME, zone)
    fired = upcoming(thursday, BEDTIME, zone, EVERY_DAY, 2)
    assert [wall(f, zone) for f in fired] == [datetime(2011, 12, 31, 21, 30), datetime(2012, 1, 1, 21, 30)]


def test_gap_crossing_midnight_fires_once_on_next_date() -> None:
    # Toronto 1919-03-30 jumped from 23:30 EST to 00:30 EDT on 03-31.
    zone = ZoneInfo("America/Toronto")
    at = time(23, 45)
    before = local_instant(date(1919, 3, 29), at, zone)
    fired = upcoming(before, at, zone, EVERY_DAY, 2)
    assert [wall(f, zone) for f in fired] == [datetime(1919, 3, 31, 0, 30), datetime(1919, 3, 31, 23, 45)]


# --------------------------------------------------------------------------- whole-year properties


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize("which", ["bedtime", "gap", "overlap", "midnight"])
def test_upcoming_whole_year_daily(zone_name: str, which: str) -> None:
    zone, sp, fa = ZoneInfo(zone_name), spring(zone_name), fall(zone_name)
    at = {
        "bedtime": BEDTIME,
        "gap": mid(*sp.skipped),
        "overlap": mid(fa.wall_after, fa.wall_before),
        "midnight": time(0),
    }[which]
    start = local_midnight(date(2026, 1, 1), zone) - ONE_US
    fired = upcoming(start, at, zone, EVERY_DAY, 365)

    assert len(set(fired)) == 365
    assert fired == sorted(fired)
    assert all(f.tzinfo is UTC for f in fired)
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    assert [f.astimezone(zone).date() for f in fired] == days
    for day, f in zip(days, fired, strict=True):
        start_gap, end_gap = sp.skipped
        if start_gap <= datetime.combine(day, at) < end_gap:
            assert wall(f, zone) == sp.wall_after
        else:
            assert f.astimezone(zone).time() == at
        assert f == oracle_instant(day, at, zone_name)
    # The year wraps cleanly into 2027.
    nxt = next_occurrence(fired[-1], at, zone, EVERY_DAY)
    assert wall(nxt, zone) == datetime.combine(date(2027, 1, 1), at)


def _random_time(rng: random.Random, zone_name: str) -> time:
    # Half the samples hug a transition's wall times, where bugs live.
    if rng.random() < 0.5:
        tr = rng.choice([spring(zone_name), fall(zone_name)])
        anchor = rng.choice([tr.wall_before, tr.wall_after])
        return (anchor + timedelta(seconds=rng.randint(-5400, 5400))).time()
    return time(rng.randrange(24), rng.randrange(60), rng.choice([0, 0, rng.randrange(60)]))


def _random_after(rng: random.Random, zone_name: str) -> datetime:
    if rng.random() < 0.5:
        tr = rng.choice([spring(zone_name), fall(zone_name)])
        after = tr.instant + timedelta(seconds=rng.randint(-3 * 86400, 3 * 86400))
    else:
        after = datetime(2026, 1, 2, tzinfo=UTC) + timedelta(seconds=rng.randrange(360 * 86400))
    # Express `after` in an arbitrary zone; only the instant should matter.
    return after.astimezone(ZoneInfo(rng.choice([*ZONES, "UTC", "Asia/Kolkata"])))


@pytest.mark.parametrize("zone_name", ZONES)
def test_random_next_occurrence_matches_oracle(zone_name: str) -> None:
    rng = random.Random(f"recurrence-{zone_name}")  # seeded: failures are reproducible
    zone = ZoneInfo(zone_name)
    sp = spring(zone_name)
    for _ in range(400):
        at = _random_time(rng, zone_name)
        after = _random_after(rng, zone_name)
        mask = rng.randint(1, EVERY_DAY)
        got = next_occurrence(after, at, zone_name, mask)

        # Brute-force expectation over the surrounding local days.
        after_day = after.astimezone(zone).date()
        candidates = [
            oracle_instant(d, at, zone_name)
            for d in (after_day + timedelta(days=k) for k in range(-1, 9))
            if mask & (1 << d.weekday())
        ]
        expected = min(c for c in candidates if c > after)
        assert got == expected, (at, after, mask)
        assert got > after
        assert got.tzinfo is UTC
        assert mask & (1 << got.astimezone(zone).weekday())
        if wall(got, zone) != datetime.combine(wall(got, zone).date(), at):
            assert wall(got, zone) == sp.wall_after  # only the gap may move the wall time
        # Nothing fires in between: re-asking just before the result gives the result again.
        assert next_occurrence(got - ONE_US, at, zone_name, mask) == got


# --------------------------------------------------------------------------- every tzdata zone


@cache
def _all_zone_transitions() -> list[Transition]:
    found: list[Transition] = []
    for name in sorted(available_timezones()):
        found += find_transitions(
            ZoneInfo(name),
            datetime(2025, 1, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
            timedelta(hours=12),
        )
    return found


def test_every_tzdata_zone_gaps_and_overlaps_2025_2026() -> None:
    transitions = _all_zone_transitions()
    assert len(transitions) > 100  # sanity: the scan found the world's DST changes
    for tr in transitions:
        if tr.is_spring_forward:
            start, end = tr.skipped
            for naive in (start, start + (end - start) / 2, end - timedelta(seconds=1)):
                assert local_instant(naive.date(), naive.time(), tr.zone) == tr.instant, (tr.zone, naive)
            at = (start + (end - start) / 2).time()
            assert next_occurrence(tr.instant - ONE_US, at, tr.zone, EVERY_DAY) == tr.instant
            assert next_occurrence(tr.instant, at, tr.zone, EVERY_DAY) > tr.instant + timedelta(hours=12)
        else:
            naive = tr.wall_after + (tr.wall_before - tr.wall_after) / 2
            first = local_instant(naive.date(), naive.time(), tr.zone)
            assert first < tr.instant and wall(first, tr.zone) == naive, (tr.zone, naive)
            nxt = next_occurrence(first, naive.time(), tr.zone, EVERY_DAY)
            assert nxt > tr.instant + timedelta(hours=12), (tr.zone, naive)
