"""Reading slots the way Alexa fills them: resolved custom-type ids and AMAZON.TIME values."""

from __future__ import annotations

import re
from datetime import time, timedelta

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Slot

# AMAZON.TIME sends these for "morning", "afternoon", "evening", "night": too vague to schedule.
VAGUE_TIMES = {"MO", "AF", "EV", "NI"}
# Far past anything Alexa hears in one slot; two day slots together still fit the reminder's
# 200-character `spoken` column.
MAX_SLOT_CHARS = 80
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")
# AMAZON.DURATION: ISO 8601 ("P1W", "P3D", "PT2H", "P1DT12H"), whole numbers only.
_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
# Calendar units as days: a pause "for a month" ends after 30 days, "for a year" after 365.
_DAYS_PER = {"years": 365, "months": 30, "weeks": 7, "days": 1}


def slot(handler_input: HandlerInput, name: str) -> Slot | None:
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    slots = getattr(intent, "slots", None) or {}
    found: Slot | None = slots.get(name)
    return found


def raw_value(handler_input: HandlerInput, name: str) -> str | None:
    """What the user said for a slot, cut to MAX_SLOT_CHARS (it may be read back to them)."""
    found = slot(handler_input, name)
    value = getattr(found, "value", None)
    if not value:
        return None
    text = str(value).strip()
    if len(text) > MAX_SLOT_CHARS:
        # Cut at a word boundary, so what is echoed stays words.
        text = text[:MAX_SLOT_CHARS].rsplit(" ", 1)[0].strip()
    return text or None


def resolved_id(handler_input: HandlerInput, name: str) -> str | None:
    """The custom slot value id Alexa matched (ER_SUCCESS_MATCH), or None."""
    found = slot(handler_input, name)
    resolutions = getattr(found, "resolutions", None)
    for authority in getattr(resolutions, "resolutions_per_authority", None) or []:
        code = getattr(getattr(getattr(authority, "status", None), "code", None), "value", None)
        if code == "ER_SUCCESS_MATCH" and authority.values:
            value_id = authority.values[0].value.id
            return str(value_id) if value_id else None
    return None


def resolve(handler_input: HandlerInput, name: str, synonyms: dict[str, list[str]]) -> str | None:
    """The slot's value id: Alexa's resolution first, else the spoken words matched to synonyms."""
    value_id = resolved_id(handler_input, name)
    if value_id in synonyms:
        return value_id
    spoken = raw_value(handler_input, name)
    return match_synonym(spoken, synonyms) if spoken else None


def match_synonym(spoken: str, synonyms: dict[str, list[str]]) -> str | None:
    wanted = _norm(spoken)
    for value_id, words in synonyms.items():
        if wanted == _norm(value_id) or any(wanted == _norm(w) for w in words):
            return value_id
    return None


def partial_match(spoken: str, synonyms: dict[str, list[str]]) -> str | None:
    """The one value whose name appears as whole words inside what was said ("magnesium pills")."""
    padded = f" {_norm(spoken)} "
    hits = {
        value_id
        for value_id, names in synonyms.items()
        for name in (value_id, *names)
        if _norm(name) and f" {_norm(name)} " in padded
    }
    return hits.pop() if len(hits) == 1 else None


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("_", " ")).strip()


def parse_time(value: str | None) -> time | None:
    """An AMAZON.TIME value ("21:30") as a time; None for missing, vague or malformed values."""
    if not value:
        return None
    match = _CLOCK.match(value.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def is_vague_time(value: str | None) -> bool:
    return bool(value) and str(value).strip().upper() in VAGUE_TIMES


def parse_duration(value: str | None) -> timedelta | None:
    """An AMAZON.DURATION value ("P1W") as a timedelta; None for missing, empty or malformed ones."""
    if not value:
        return None
    match = _DURATION.match(value.strip().upper())
    if not match or value.strip().upper() in ("P", "PT") or value.strip().upper().endswith("T"):
        return None
    parts = {name: int(number) for name, number in match.groupdict().items() if number}
    if not parts or any(n > 10_000 for n in parts.values()):
        return None
    days = sum(parts.get(unit, 0) * per for unit, per in _DAYS_PER.items())
    return timedelta(
        days=days,
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )
