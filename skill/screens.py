"""What a device with a screen shows: APL documents (``skill/apl/*.json``) and the data for them.

The documents hold layout only; every word they show comes from the content, through the one
datasource each document reads (``payload.<name>``, the mainTemplate's ``payload`` parameter being
the whole of ``datasources``). A screen is sent only to a device whose request lists
``Alexa.Presentation.APL`` with a runtime at least as new as the documents' APL version; every
other device gets the speech and the card alone.

A routine step's countdown runs on the device (``elapsedTime``, the milliseconds since the document
was shown), starting after the words spoken before the hold, at the speaking rate
``speech.estimate_seconds`` assumes: the device cannot tell the document where the voice is. The
spoken cue ("ten more seconds") stays the exact one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import get_supported_interfaces
from ask_sdk_model.interfaces.alexa.presentation.apl import RenderDocumentDirective

from skill import speech
from skill.content import Content
from skill.serializer import JsonReady

DOCUMENTS_DIR = Path(__file__).resolve().parent / "apl"
# The APL version every document declares: the newest one (2024.3, December 2024).
APL_VERSION = "2024.3"
TOKEN_PREFIX = "cramp-coach."


@dataclass(frozen=True)
class Screen:
    """One document and the datasources it is shown with."""

    document: str
    datasources: Mapping[str, Any] = field(default_factory=dict)


@cache
def document(name: str) -> JsonReady:
    """An APL document by file name (``topic``, ``step``, ``habit``), read once.

    It is plain JSON already, so the response serializer sends it without copying it.
    """
    return JsonReady(json.loads((DOCUMENTS_DIR / f"{name}.json").read_text(encoding="utf-8")))


def document_names() -> list[str]:
    return sorted(path.stem for path in DOCUMENTS_DIR.glob("*.json"))


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return ()


def supported(handler_input: HandlerInput) -> bool:
    """Whether this request's device shows APL documents of our version."""
    try:
        apl = get_supported_interfaces(handler_input).alexa_presentation_apl
    except AttributeError:  # no context.System.device (events, some simulators)
        return False
    if apl is None:
        return False
    max_version = getattr(getattr(apl, "runtime", None), "max_version", None)
    # A device that names no runtime version is taken at its word that it speaks APL.
    return not max_version or _version(str(max_version)) >= _version(APL_VERSION)


def directive(screen: Screen) -> RenderDocumentDirective:
    return RenderDocumentDirective(
        token=f"{TOKEN_PREFIX}{screen.document}",
        document=document(screen.document),
        datasources=dict(screen.datasources),
    )


def topic(words: Content, path: str, *, hint: str, urgent: bool = False) -> Screen:
    """A topic's title and key points; ``hint`` is what to say next (plain text, may be empty)."""
    key = f"topics.{path}"
    return Screen(
        "topic",
        {
            "topic": {
                "header": words.text("prompts.skill_name"),
                "title": words.text(f"{key}.title"),
                "points": [str(point) for point in words.get(f"{key}.points")],
                "hint": hint,
                "urgent": urgent,
            }
        },
    )


def step(words: Content, index: int, *, spoken_before_hold: Sequence[str], hint: str) -> Screen:
    """A routine step: its name and instructions, and for a timed hold the countdown's figures.

    ``spoken_before_hold`` is the SSML said before the hold starts, which the countdown waits out.
    """
    all_steps: list[dict[str, Any]] = words.get("routine.steps")
    count = len(all_steps)
    step_data = all_steps[index]
    seconds = int(step_data.get("seconds", 0))
    timer = str(step_data.get("timer", "hold"))
    lead_ms = round(speech.estimate_seconds(" ".join(spoken_before_hold)) * 1000) if seconds else 0
    return Screen(
        "step",
        {
            "step": {
                "header": words.text("routine.title"),
                "progress": words.text("screens.step_of", number=index + 1, count=count),
                "name": str(step_data["name"]),
                "instructions": str(step_data["say"]),
                "seconds": seconds,
                "holdStartsAfterMs": lead_ms,
                "timerLabel": words.text(f"screens.timer.{timer}") if seconds else "",
                "getReady": words.text("screens.get_ready"),
                "secondsLabel": words.text("screens.seconds"),
                "relax": words.text("routine.relax"),
                "hint": hint,
            }
        },
    )


def habit(words: Content, nights: Sequence[tuple[date, bool]], *, summary: str, hint: str) -> Screen:
    """The last nights, oldest first, each marked done or not; the last one is tonight."""
    initials: list[str] = words.get("habit.screen.weekdays")
    cells = [
        {
            "day": initials[night.weekday()],
            "label": words.text(
                "habit.screen.night_done" if done else "habit.screen.night_open",
                weekday=words.get("habit.screen.weekday_names")[night.weekday()],
            ),
            "done": done,
            "tonight": position == len(nights) - 1,
        }
        for position, (night, done) in enumerate(nights)
    ]
    return Screen(
        "habit",
        {
            "habit": {
                "header": words.text("prompts.skill_name"),
                "title": words.text("habit.screen.title"),
                "nights": cells,
                "summary": summary,
                "hint": hint,
            }
        },
    )
