"""Turning stored reminder data (times, day masks, dates) into the words the content files define."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

from scheduler.recurrence import EVERY_DAY, WEEKDAYS, WEEKENDS, weekdays_in
from skill.content import Content

DAY_IDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def say_time(words: Content, at: time) -> str:
    if at == time(12, 0):
        return words.text("reminders.clock.noon")
    if at == time(0, 0):
        return words.text("reminders.clock.midnight")
    half = words.text("reminders.clock.pm" if at.hour >= 12 else "reminders.clock.am")
    hour = at.hour % 12 or 12
    if at.minute == 0:
        return words.text("reminders.clock.on_the_hour", hour=hour, half=half)
    return words.text("reminders.clock.with_minutes", hour=hour, minute=f"{at.minute:02d}", half=half)


def join(words: Content, items: Sequence[str]) -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return words.text("reminders.join.pair", first=items[0], second=items[1])
    return words.text("reminders.join.list", rest=", ".join(items[:-1]), last=items[-1])


def say_times(words: Content, times: Sequence[time]) -> str:
    return join(words, [say_time(words, t) for t in sorted(times)])


def day_mask(day_ids: Sequence[str]) -> int:
    """Day slot ids ("weekdays", "monday"...) to the scheduler's bit mask; 0 when none."""
    mask = 0
    for day_id in day_ids:
        if day_id == "every_day":
            mask |= EVERY_DAY
        elif day_id == "weekdays":
            mask |= WEEKDAYS
        elif day_id == "weekends":
            mask |= WEEKENDS
        elif day_id in DAY_IDS:
            mask |= 1 << DAY_IDS.index(day_id)
    return mask


def say_days(words: Content, mask: int) -> str:
    for day_id, whole in (("every_day", EVERY_DAY), ("weekdays", WEEKDAYS), ("weekends", WEEKENDS)):
        if mask == whole:
            return words.text(f"reminders.days.{day_id}.phrase")
    names = [words.text(f"reminders.days.{DAY_IDS[d]}.phrase") for d in weekdays_in(mask)]
    return words.text("reminders.days.named", names=join(words, names))


# A day phrase the user said that reads back naturally on its own ("every night", "on weekdays").
_WHOLE_PHRASE = re.compile(r"^(every|each|on|at)\b")


def say_days_as_said(words: Content, mask: int, spoken: str | None) -> str:
    """The user's own words for the days when they make a whole phrase, else the content's."""
    if spoken and _WHOLE_PHRASE.match(spoken.strip().lower()):
        return spoken.strip().lower()
    return say_days(words, mask)


def reminder_speech(words: Content, kind: str, streak_nights: int | None) -> str:
    """What the device says at a reminder's time (plain text; Alexa says "Here's your reminder" first).

    ``streak_nights``: nights in a row the routine was finished, said after the stretch reminder
    ("That's 4 nights in a row.") from two nights on. None until the habit streak is known here.
    """
    text = words.text(f"reminders.device.{kind}")
    if kind == "stretch" and streak_nights is not None and streak_nights >= 2:
        text = f"{text} {words.text('reminders.device.streak', nights=streak_nights)}"
    return text


# A stretch reminder is an evening habit: from this hour, "today" is "tonight".
EVENING_HOUR = 17


def say_date(words: Content, at: datetime, zone: str) -> str:
    """The local date of ``at``: "Monday, November 30"."""
    local = at.astimezone(ZoneInfo(zone))
    return words.text(
        "reminders.calendar.date",
        weekday=words.get("reminders.calendar.weekdays")[local.weekday()],
        month=words.get("reminders.calendar.months")[local.month - 1],
        day=local.day,
    )


def say_when(words: Content, at: datetime, zone: str, now: datetime) -> str:
    """When ``at`` is, seen from ``now``: "tonight", "today", "tomorrow", or "on Thursday"."""
    tz = ZoneInfo(zone)
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    days = (local.date() - today).days
    if days == 0:
        return words.text("reminders.when.tonight" if local.hour >= EVENING_HOUR else "reminders.when.today")
    if days == 1:
        return words.text("reminders.when.tomorrow")
    return words.text("reminders.when.on", weekday=words.get("reminders.calendar.weekdays")[local.weekday()])
