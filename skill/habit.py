"""The nightly habit: the nights the bedtime routine was finished, kept small in the user's state.

A night is named by the date of its evening in the user's own zone: the night of 3 March runs from
noon on 3 March to noon on 4 March, so a routine finished at half past midnight counts for the
evening it began in. The state (persistent attribute ``habit``) holds:

- ``nights``: the finished nights of the last two weeks (ISO dates), nothing older;
- ``since``: the first night of the unbroken run that ends at the newest night, so a streak longer
  than two weeks is still counted in full;
- ``zone``: the IANA zone the nights were named in (the launch reads the streak in it, without a
  Settings API call);
- ``pending``: finishes that no zone could be found for (UTC instants, at most two weeks' worth),
  named as soon as one is known, so none is lost;
- ``noted``: the newest night whose gap since has already been spoken of, so a missed night is
  mentioned once, kindly, and never again.

Everything here is a pure function of the state and a time; the handlers decide what is said.
``streak_at`` is the one call the reminder text needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

KEY = "habit"
# "How am I doing?" looks back this many nights; no older night is kept.
WINDOW_NIGHTS = 14
# A night runs from this local time one day to the same time the next.
NIGHT_TURNS_AT = time(12)
# Finishes kept while no zone is known; more than this would be more than the window holds.
MAX_PENDING = WINDOW_NIGHTS


@dataclass(frozen=True)
class Habit:
    nights: tuple[date, ...] = ()
    since: date | None = None
    zone: str | None = None
    pending: tuple[datetime, ...] = ()
    noted: date | None = None

    @property
    def last(self) -> date | None:
        return self.nights[-1] if self.nights else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _instant(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment is not None and moment.tzinfo is not None else None


def _zone(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return value


def read(state: Mapping[str, Any]) -> Habit:
    """The habit saved in a user's persistent attributes; anything unreadable reads as nothing."""
    raw = state.get(KEY)
    if not isinstance(raw, Mapping):
        return Habit()
    nights = sorted({d for d in map(_date, _list(raw.get("nights"))) if d is not None})
    since = _date(raw.get("since"))
    if nights and (since is None or since > nights[-1]):
        since = nights[-1]
    pending = sorted({m for m in map(_instant, _list(raw.get("pending"))) if m is not None})
    return Habit(
        nights=tuple(nights),
        since=since if nights else None,
        zone=_zone(raw.get("zone")),
        pending=tuple(pending[-MAX_PENDING:]),
        noted=_date(raw.get("noted")),
    )


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def stored(habit: Habit) -> dict[str, Any]:
    """The habit as the JSON saved in the user's state (empty parts left out, to keep it small)."""
    out: dict[str, Any] = {}
    if habit.nights:
        out["nights"] = [d.isoformat() for d in habit.nights]
        out["since"] = (habit.since or habit.nights[-1]).isoformat()
    if habit.zone:
        out["zone"] = habit.zone
    if habit.pending:
        out["pending"] = [m.astimezone(UTC).isoformat().replace("+00:00", "Z") for m in habit.pending]
    if habit.noted:
        out["noted"] = habit.noted.isoformat()
    return out


def night_of(moment: datetime, zone: str) -> date:
    """The night an instant belongs to, in ``zone``: before noon it is still the evening before's."""
    local = moment.astimezone(ZoneInfo(zone))
    day = local.date()
    return day - timedelta(days=1) if local.time() < NIGHT_TURNS_AT else day


def record(habit: Habit, finished_at: datetime, zone: str | None) -> Habit:
    """The habit with a routine finished at ``finished_at`` (aware) added.

    With no zone the finish is kept as pending; with one, it and any pending finishes are named,
    and the zone is kept for the next launch.
    """
    if zone is None:
        zone = habit.zone
    if zone is None:
        pending = sorted({*habit.pending, finished_at.astimezone(UTC)})
        return replace(habit, pending=tuple(pending[-MAX_PENDING:]))
    nights = [night_of(m, zone) for m in (*habit.pending, finished_at)]
    return replace(_add_nights(habit, nights), zone=zone, pending=())


def place_pending(habit: Habit, zone: str | None) -> Habit:
    """The habit with its pending finishes named in ``zone`` (unchanged when there is none)."""
    if zone is None or not habit.pending:
        return habit
    nights = [night_of(m, zone) for m in habit.pending]
    return replace(_add_nights(habit, nights), zone=habit.zone or zone, pending=())


def _add_nights(habit: Habit, new: Iterable[date]) -> Habit:
    nights = set(habit.nights)
    last, since = habit.last, habit.since
    for night in sorted(new):
        if last is None or since is None:
            last = since = night
        elif night > last:
            # The run goes on only if no night is missing in between.
            since = since if night == last + timedelta(days=1) else night
            last = night
        elif night == since - timedelta(days=1):
            since = night
        nights.add(night)
    assert last is not None and since is not None
    # A night found before the run's start extends it backwards, night by night.
    while since - timedelta(days=1) in nights:
        since -= timedelta(days=1)
    oldest_kept = last - timedelta(days=WINDOW_NIGHTS - 1)
    return replace(habit, nights=tuple(sorted(n for n in nights if n >= oldest_kept)), since=since)


def streak(state: Mapping[str, Any] | Habit, tonight: date) -> int:
    """Nights in a row with the routine finished, counted up to tonight.

    A run that ended last night still counts (tonight's routine may be still to come); one that
    ended before that has been broken, and the streak is 0.
    """
    habit = state if isinstance(state, Habit) else read(state)
    last, since = habit.last, habit.since
    if last is None or since is None or last < tonight - timedelta(days=1) or last > tonight:
        return 0
    return (last - since).days + 1


def tonight_of(habit: Habit, now: datetime, zone: str | None = None) -> date | None:
    """Tonight's date in ``zone``, else in the zone the habit was kept in; None when neither is known."""
    zone = zone or habit.zone
    return night_of(now, zone) if zone else None


def streak_at(state: Mapping[str, Any], now: datetime, zone: str | None = None) -> int:
    """The streak as of ``now`` (aware), for a handler holding the user's persistent attributes.

    ``zone`` is the user's IANA zone if the caller has one (a reminder's own zone); otherwise the
    zone the nights were named in is used. With no zone at all the streak is 0.
    """
    habit = read(state)
    night = tonight_of(habit, now, zone)
    return 0 if night is None else streak(habit, night)


def done_tonight(habit: Habit, tonight: date) -> bool:
    return tonight in habit.nights


def recent(habit: Habit, tonight: date, count: int = WINDOW_NIGHTS) -> list[tuple[date, bool]]:
    """The last ``count`` nights up to tonight, oldest first, each with whether it was finished."""
    done = set(habit.nights)
    first = tonight - timedelta(days=count - 1)
    return [(night, night in done) for night in (first + timedelta(days=i) for i in range(count))]


def gap_to_mention(habit: Habit, tonight: date) -> bool:
    """Whether a missed night (or more) since the last routine is still to be spoken of, once."""
    last = habit.last
    return last is not None and last < tonight - timedelta(days=1) and habit.noted != last
