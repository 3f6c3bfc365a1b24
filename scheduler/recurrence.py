"""Next-occurrence arithmetic for reminders that fire at a wall-clock time in their own zone.

Pure functions over stdlib ``datetime``/``zoneinfo``. All results are aware UTC datetimes so
callers can store and compare them without caring about the reminder's zone.

DST policy (a reminder fires at most once per local day it is scheduled for):

* A wall time skipped by a spring-forward fires at the instant the gap ends.
* A wall time repeated by a fall-back fires at its first occurrence only (``fold=0``).
* A local date the wall clock skips entirely (date-line moves, e.g. Pacific/Apia 2011-12-30)
  has no occurrence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "EVERY_DAY",
    "FRIDAY",
    "MONDAY",
    "SATURDAY",
    "SUNDAY",
    "THURSDAY",
    "TUESDAY",
    "WEDNESDAY",
    "WEEKDAYS",
    "WEEKENDS",
    "days_from_weekdays",
    "local_instant",
    "next_occurrence",
    "upcoming",
    "weekdays_in",
]

# Day sets are a 7-bit mask indexed by ``date.weekday()``: Monday = bit 0 ... Sunday = bit 6.
MONDAY = 1 << 0
TUESDAY = 1 << 1
WEDNESDAY = 1 << 2
THURSDAY = 1 << 3
FRIDAY = 1 << 4
SATURDAY = 1 << 5
SUNDAY = 1 << 6
EVERY_DAY = 0b1111111
WEEKDAYS = 0b0011111
WEEKENDS = 0b1100000

# Any non-empty mask has a scheduled day within 7 local dates. We also look one day back, purely
# defensively (a gap crossing midnight, e.g. Toronto 1919, moves yesterday's occurrence onto
# today's date), and keep a little slack.
_SEARCH_DAYS = 10

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _check_mask(mask: int) -> None:
    if not 0 < mask <= EVERY_DAY:
        raise ValueError(f"day mask must be a non-empty 7-bit mask (1..{EVERY_DAY}), got {mask!r}")


def days_from_weekdays(weekdays: Iterable[int]) -> int:
    """Turn Python ``weekday()`` numbers (Monday = 0) into a day mask."""
    mask = 0
    for wd in weekdays:
        if not 0 <= wd <= 6:
            raise ValueError(f"weekday must be in 0..6, got {wd!r}")
        mask |= 1 << wd
    return mask


def weekdays_in(mask: int) -> list[int]:
    """Sorted Python ``weekday()`` numbers contained in ``mask``."""
    if not 0 <= mask <= EVERY_DAY:
        raise ValueError(f"day mask must fit in 7 bits (0..{EVERY_DAY}), got {mask!r}")
    return [wd for wd in range(7) if mask & (1 << wd)]


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """Naive local wall-clock reading of ``instant`` in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The aware UTC instant when the wall clock in ``zone`` first shows ``at`` on ``day``.

    A time skipped by a spring-forward maps to the instant the gap ends (02:30 on a New York
    spring-forward day -> 03:00 EDT = 07:00 UTC; Lord Howe's 30-minute gap: 02:15 -> 02:30 +11:00).
    A time repeated by a fall-back maps to its first occurrence (``fold=0``) only.
    """
    if at.tzinfo is not None:
        # The zone argument is the only source of truth; an aware `at` would be ambiguous.
        raise ValueError("`at` must be a naive wall-clock time")
    naive = datetime.combine(day, at).replace(fold=0)
    # For an ambiguous time fold=0 is the earlier instant, exactly what we want.
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if _wall(first, zone) == naive:
        return first

    # The round trip changed the wall time, so `naive` lies in a gap. PEP 495 maps a gap time with
    # fold=0 using the offset before the transition and fold=1 using the offset after; the
    # transition instant lies between the two readings. It is the earliest instant at which the
    # wall clock has reached `naive`, which we locate by bisection on whole seconds (tzdata
    # transitions are whole seconds). No assumption about gap width (Lord_Howe: 30 min).
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo_dt, hi_dt = min(first, second), max(first, second)
    lo = math.floor((lo_dt - _EPOCH).total_seconds())
    hi = math.ceil((hi_dt - _EPOCH).total_seconds())

    def reached(seconds: int) -> bool:
        return _wall(_EPOCH + timedelta(seconds=seconds), zone) >= naive

    if reached(lo) or not reached(hi):
        # Not a simple gap (never seen in tzdata); refuse rather than guess.
        raise ValueError(f"cannot resolve {naive.isoformat()} in {zone.key}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reached(mid):
            hi = mid
        else:
            lo = mid
    return _EPOCH + timedelta(seconds=hi)


def _day_exists(day: date, occurrence: datetime, zone: ZoneInfo) -> bool:
    """False if the wall clock never shows any time on ``day`` (e.g. Samoa skipping 2011-12-30).

    Such a day's "gap end" is the next day's start, so without this check a 21:30 reminder would
    fire at 00:00 and again at 21:30 on the following date. Only the rare case where the occurrence
    landed on a later wall date needs the extra lookup.
    """
    if _wall(occurrence, zone).date() == day:
        return True
    return _wall(local_instant(day, time(0), zone), zone).date() == day


def next_occurrence(after: datetime, at: time, zone: ZoneInfo | str, days: int) -> datetime:
    """The first instant strictly after ``after`` at which the reminder fires, as aware UTC.

    ``after`` may be in any timezone but must be aware. Feeding an occurrence back in yields the
    following occurrence, so a repeated fall-back hour fires once and a skipped spring-forward time
    fires once, right after the gap. Raises ``ValueError`` for an empty/invalid ``days`` mask or a
    naive ``after``.
    """
    _check_mask(days)
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("`after` must be timezone-aware")
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone

    after_utc = after.astimezone(UTC)
    start = _wall(after_utc, tz).date() - timedelta(days=1)
    candidates: list[datetime] = []
    for offset in range(_SEARCH_DAYS):
        day = start + timedelta(days=offset)
        if not days & (1 << day.weekday()):
            continue
        inst = local_instant(day, at, tz)
        if inst > after_utc and _day_exists(day, inst, tz):
            candidates.append(inst)
    if not candidates:
        # Unreachable for a valid mask; guard so a bug surfaces loudly instead of looping.
        raise RuntimeError(f"no occurrence within {_SEARCH_DAYS} days after {after_utc.isoformat()}")
    # Take the minimum rather than the first hit so we never rely on per-day occurrences being
    # monotonic in UTC (they are for every real zone, but this costs only a few calls).
    return min(candidates)


def upcoming(after: datetime, at: time, zone: ZoneInfo | str, days: int, count: int) -> list[datetime]:
    """The next ``count`` occurrences strictly after ``after``, chained via ``next_occurrence``."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count!r}")
    # Validate eagerly so count == 0 does not hide a bad call.
    _check_mask(days)
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("`after` must be timezone-aware")
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    result: list[datetime] = []
    current = after
    for _ in range(count):
        current = next_occurrence(current, at, tz, days)
        result.append(current)
    return result
