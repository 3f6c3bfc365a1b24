"""The words the interaction models accept mean the same thing to the handlers without Alexa's help.

Handlers use Alexa's entity resolution first; when a request arrives without it (simulators, some
devices) they match the spoken words against synonyms kept in the content files. The two lists
live apart, so this test keeps them in step: every value and synonym in every model must lead the
handler's own matching to the same value id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skill.content import SUPPORTED_LOCALES, for_locale
from skill.handlers.questions import BY_INTENT
from skill.slots import match_synonym, partial_match

MODELS = Path(__file__).resolve().parent.parent / "interaction_models"


def _model(locale: str) -> dict[str, Any]:
    model: dict[str, Any] = json.loads((MODELS / f"{locale}.json").read_text())["interactionModel"][
        "languageModel"
    ]
    return model


def _slot_types(model: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(intent, slot) -> slot type name, for custom types."""
    return {
        (intent["name"], slot["name"]): slot["type"]
        for intent in model["intents"]
        for slot in intent.get("slots", [])
        if not slot["type"].startswith("AMAZON.")
    }


def _spoken_forms(model: dict[str, Any], type_name: str) -> list[tuple[str, str]]:
    [slot_type] = [t for t in model["types"] if t["name"] == type_name]
    return [
        (value["id"], word)
        for value in slot_type["values"]
        for word in (value["name"]["value"], *value["name"].get("synonyms", []))
    ]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_question_slot_words_reach_the_same_topic(locale: str) -> None:
    model = _model(locale)
    words = for_locale(locale)
    types = _slot_types(model)
    misses = []
    for question in BY_INTENT.values():
        if question.slot is None:
            continue
        synonyms = words.synonyms(f"topics.{question.branch}")
        for value_id, word in _spoken_forms(model, types[(question.intent, question.slot)]):
            found = match_synonym(word, synonyms) or partial_match(word, synonyms)
            if found != value_id:
                misses.append(
                    f"{question.intent}.{question.slot}: {word!r} -> {found!r}, model says {value_id!r}"
                )
    assert misses == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("slot, branch", [("kind", "reminders.kinds"), ("days", "reminders.days")])
def test_reminder_slot_words_reach_the_same_value(locale: str, slot: str, branch: str) -> None:
    model = _model(locale)
    synonyms = for_locale(locale).synonyms(branch)
    type_name = _slot_types(model)[("SetReminderIntent", slot)]
    misses = [
        f"{word!r} -> {match_synonym(word, synonyms)!r}, model says {value_id!r}"
        for value_id, word in _spoken_forms(model, type_name)
        if match_synonym(word, synonyms) != value_id
    ]
    assert misses == []
