"""The held-out phrasing set keeps its shape: typed fields, unique entries, every topic covered."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

PATH = Path(__file__).parent / "heldout" / "phrasings.json"

# Every topic the set must cover, several phrasings each.
REQUIRED_TOPICS = {
    "what_is",
    "restless_legs",
    "reassurance",
    "causes.overview",
    "causes.fatigue",
    "causes.dehydration",
    "causes.electrolytes",
    "causes.sedentary",
    "causes.pregnancy",
    "causes.aging",
    "causes.circulation",
    "shoes_activity",
    "medications.overview",
    "medications.diuretics",
    "medications.statins",
    "medications.birth_control",
    "medications.asthma",
    "conditions.overview",
    "conditions.diabetes",
    "conditions.pad",
    "conditions.thyroid",
    "conditions.kidney",
    "conditions.neurological",
    "prevention",
    "relief",
    "foods.overview",
    "foods.magnesium",
    "foods.potassium",
    "foods.calcium",
    "foods.sodium",
    "supplements.overview",
    "supplements.magnesium",
    "supplements.potassium",
    "supplements.calcium",
    "stretches.overview",
    "stretches.wall_calf",
    "stretches.forward_bend",
    "stretches.towel",
    "routine",
    "doctor",
    "red_flags.red",
    "red_flags.hot",
    "red_flags.swollen",
    "red_flags.weakness",
    "red_flags.numbness",
    "red_flags.frequent",
    "red_flags.severe",
    "reminders.set",
    "reminders.list",
    "reminders.move",
    "reminders.cancel",
    "reminders.cancel_all",
}
MIN_PER_TOPIC = 3
MIN_ENTRIES = 250
FIELDS = {"id", "say", "topic", "must", "must_not"}
OPTIONAL = {"needs"}
# As a speech recogniser writes it: lower-case words, apostrophes, single spaces.
SAY = re.compile(r"[a-z']+( [a-z']+)*")
ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
TOPIC = re.compile(r"[a-z_]+(\.[a-z_]+)?")


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    raw = PATH.read_text(encoding="utf-8")
    data = json.loads(raw)
    assert isinstance(data, list)
    return data


def _is_needle(value: object) -> bool:
    return isinstance(value, str) and value.strip() != "" and value == value.lower()


def test_enough_entries(entries: list[dict[str, Any]]) -> None:
    assert len(entries) >= MIN_ENTRIES


def test_fields_are_typed(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        assert isinstance(entry, dict), entry
        keys = set(entry)
        assert FIELDS <= keys <= FIELDS | OPTIONAL, entry
        assert isinstance(entry["id"], str) and ID.fullmatch(entry["id"]), entry
        assert isinstance(entry["say"], str) and SAY.fullmatch(entry["say"]), entry
        assert isinstance(entry["topic"], str) and TOPIC.fullmatch(entry["topic"]), entry
        assert entry.get("needs", "routine") in {"routine", "reminders"}, entry


def test_must_groups_are_non_empty_lower_case(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        must = entry["must"]
        assert isinstance(must, list) and must, entry["id"]
        for group in must:
            assert isinstance(group, list) and group, entry["id"]
            assert all(_is_needle(alt) for alt in group), entry["id"]
        must_not = entry["must_not"]
        assert isinstance(must_not, list), entry["id"]
        assert all(_is_needle(bad) for bad in must_not), entry["id"]


def test_must_not_never_contradicts_must(entries: list[dict[str, Any]]) -> None:
    # A required word that contains a forbidden one could never pass.
    for entry in entries:
        for bad in entry["must_not"]:
            for group in entry["must"]:
                assert not all(bad in alt for alt in group), (entry["id"], bad)


def test_ids_and_phrasings_are_unique(entries: list[dict[str, Any]]) -> None:
    for field in ("id", "say"):
        repeats = [v for v, n in Counter(e[field] for e in entries).items() if n > 1]
        assert repeats == [], field


def test_every_topic_is_covered(entries: list[dict[str, Any]]) -> None:
    counts = Counter(e["topic"] for e in entries)
    thin = {t: counts[t] for t in REQUIRED_TOPICS if counts[t] < MIN_PER_TOPIC}
    assert thin == {}


def test_reminder_entries_say_they_need_reminders(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        is_reminder = entry["topic"].startswith("reminders.")
        assert (entry.get("needs") == "reminders") == is_reminder, entry["id"]


def test_routine_only_entries_are_few(entries: list[dict[str, Any]]) -> None:
    inside = [e for e in entries if e.get("needs") == "routine"]
    assert all(e["topic"] == "routine" for e in inside)
    assert 0 < len(inside) <= 10
