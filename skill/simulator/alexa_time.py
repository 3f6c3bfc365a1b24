"""Spoken or typed time words -> what Alexa puts in an AMAZON.TIME slot ("21:30", or "EV" for evening).

Alexa resolves AMAZON.TIME itself; a local matcher only has the words, so the simulator does this
step the way tests/e2e/harness.mjs does for virtual-alexa, and also reads digits, since people type
them and speech recognition writes them ("9:30 p.m." reaches the matcher as "930 pm" once its
punctuation is gone). Anything else is None: the simulator then says it cannot read the time
rather than send a value Alexa never would.
"""

from __future__ import annotations

import re

HOURS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
UNITS = {word: n for word, n in HOURS.items() if n < 10}
TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
# What Alexa sends for a part of the day rather than a clock time.
VAGUE = {"morning": "MO", "afternoon": "AF", "evening": "EV", "night": "NI", "tonight": "NI"}
_ALEXA_FORMAT = re.compile(r"\d{2}:\d{2}|MO|AF|EV|NI")


def _minutes(rest: list[str]) -> int | None:
    if not rest or rest == ["o'clock"] or rest == ["oclock"]:
        return 0
    if len(rest) == 1 and rest[0].isdigit() and len(rest[0]) <= 2:
        return int(rest[0])
    if len(rest) == 2 and rest[0] == "oh" and rest[1] in UNITS:
        return UNITS[rest[1]]
    if len(rest) == 1 and rest[0] in TEENS:
        return TEENS[rest[0]]
    if len(rest) == 1 and rest[0] in TENS:
        return TENS[rest[0]]
    if len(rest) == 2 and rest[0] in TENS and rest[1] in UNITS:
        return TENS[rest[0]] + UNITS[rest[1]]
    return None


def alexa_time(spoken: str) -> str | None:
    """``"nine thirty pm"`` -> ``"21:30"``; ``"930 pm"``, ``"21:30"``, ``"noon"``, ``"evening"`` too."""
    if _ALEXA_FORMAT.fullmatch(spoken.strip()):
        return spoken.strip()
    text = re.sub(r"\s+", " ", spoken.lower().replace(".", " ")).strip()
    if text == "noon":
        return "12:00"
    if text == "midnight":
        return "00:00"
    vague = VAGUE.get(re.sub(r"^(in the|at|this) ", "", text))
    if vague:
        return vague
    # "9pm", "930pm" -> "9 pm", "930 pm"; "9:30" -> "9 30"
    text = re.sub(r"(\d)\s*([ap])\s*m\b", r"\1 \2m", text).replace(":", " ")
    words = text.split()
    half = None
    if words[-2:] in (["p", "m"], ["a", "m"]):
        half, words = words[-2], words[:-2]
    elif words and words[-1] in ("pm", "am"):
        half, words = words[-1][0], words[:-1]
    if not words:
        return None
    first, rest = words[0], words[1:]
    if first.isdigit() and len(first) in (3, 4) and not rest:
        first, rest = first[:-2], [first[-2:]]
    if first.isdigit() and len(first) <= 2:
        hour = int(first)
    elif first in HOURS:
        hour = HOURS[first]
    else:
        return None
    minute = _minutes(rest)
    if minute is None or minute > 59 or hour > 23 or (half and not 1 <= hour <= 12):
        return None
    if half == "p" and hour < 12:
        hour += 12
    if half == "a" and hour == 12:
        hour = 0
    return f"{hour:02d}:{minute:02d}"
