"""The nightly habit in the conversation: each finished routine is kept as a night, and the streak is
said at launch and when the routine ends ("How am I doing?" is ``progress.py``).

The nights live in the user's state (``skill.habit``), named in the user's local time zone: the
device's, from the Settings API, as the reminders use; else the zone saved with the user's
reminders; else the one the nights were kept in before. The launch reads the streak in the kept
zone, so it costs no API call. What is said never counts missed nights: a gap is met once, warmly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

from ask_sdk_core.handler_input import HandlerInput
from sqlalchemy.exc import SQLAlchemyError

from scheduler.logs import user_ref
from skill import habit
from skill.alexa_context import device_time_zone, user_id
from skill.content import Content
from skill.handlers.common import content, remember, services, state

log = logging.getLogger(__name__)

# A streak is spoken of from two nights on; one night is not yet "in a row".
MIN_STREAK = 2


def zone_now(handler_input: HandlerInput, kept: habit.Habit) -> str | None:
    """The user's zone now: the device's, else the reminders' saved one, else the habit's own."""
    zone = device_time_zone(handler_input)
    if zone:
        return zone
    try:
        saved = services(handler_input).reminders.user_time_zone(user_id(handler_input))
    except SQLAlchemyError as exc:
        log.warning("could not read the saved time zone: %s", exc.__class__.__name__)
        saved = None
    return saved or kept.zone


def finished(handler_input: HandlerInput) -> list[str]:
    """Keep tonight as a night the routine was finished; the words for the end of it (the streak)."""
    kept = habit.read(state(handler_input))
    zone = zone_now(handler_input, kept)
    now = services(handler_input).clock()
    updated = habit.record(kept, now, zone)
    if zone is None:
        log.warning(
            "no time zone for user %s: the finished routine is kept to be dated later",
            user_ref(user_id(handler_input)),
        )
    remember(handler_input, **{habit.KEY: habit.stored(updated)})
    tonight = habit.tonight_of(updated, now)
    count = habit.streak(updated, tonight) if tonight else 0
    if count < MIN_STREAK:
        return []
    return [content(handler_input).say("habit.finished_streak", count=count)]


def reminder_streak(handler_input: HandlerInput, zone: str | None = None) -> int | None:
    """The streak for a stretch reminder's words (``reminders.device.streak``), or None below two.

    ``zone`` is the reminder's own zone; the user's persistent attributes come from the request.
    """
    count = habit.streak_at(state(handler_input), services(handler_input).clock(), zone)
    return count if count >= MIN_STREAK else None


@dataclass(frozen=True)
class Note:
    """What the launch says of the habit: a streak, or a warm word after a gap."""

    kind: Literal["streak", "again"]
    count: int = 0


def launch_note(handler_input: HandlerInput) -> Note | None:
    """The habit note for this launch; a gap is noted as spoken of, so it is said only once."""
    kept = habit.read(state(handler_input))
    tonight = habit.tonight_of(kept, services(handler_input).clock())
    if tonight is None:
        return None
    count = habit.streak(kept, tonight)
    if count >= MIN_STREAK:
        return Note("streak", count)
    if habit.gap_to_mention(kept, tonight):
        remember(handler_input, **{habit.KEY: habit.stored(replace(kept, noted=kept.last))})
        return Note("again")
    return None


def launch_line(words: Content, note: Note) -> str:
    """The note as a sentence to follow a greeting."""
    if note.kind == "streak":
        return words.say("habit.streak", count=note.count)
    return words.say("habit.again")


def welcome_back(words: Content, note: Note | None) -> str:
    """The whole welcome for a returning user, with the note in it."""
    if note is None:
        return words.say("prompts.welcome_back")
    if note.kind == "streak":
        return words.say("habit.welcome_back_streak", count=note.count)
    return words.say("habit.welcome_back_again")
