"""The words, checked as data: valid SSML, short first answers, safe wording, cards, placeholders."""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from string import Formatter
from typing import Any

import pytest

from skill import speech
from skill.content import CONTENT_DIR, SUPPORTED_LOCALES, Content, escape_template, for_locale, load_language
from skill.handlers import questions, routine

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "skill" / "handlers"
CONTRACT = ROOT / "docs" / "intents.md"
LANGUAGES = sorted(p.name for p in CONTENT_DIR.iterdir() if p.is_dir() and any(p.glob("*.json")))
# Units that would make a number a dose; the sources give exactly one dose, for magnesium.
DOSE = re.compile(
    r"\b\d[\d\s.,\u2013-]*(?:to\s+\d+\s*)?(?:mg|milligrams?|mcg|micrograms?|grams?|iu|units)\b", re.I
)


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, f"{path}[{index}]")


def fields(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field is not None}


def topic_paths(words: Content) -> list[str]:
    """Every answerable topic under topics (aliases that point elsewhere are not topics)."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict) and "answer" in node:
            found.append(path)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)

    walk(words.get("topics"), "")
    return found


@pytest.fixture(params=LANGUAGES)
def words(request: pytest.FixtureRequest) -> Content:
    return load_language(str(request.param))


def test_english_is_there() -> None:
    assert "en" in LANGUAGES


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_supported_locale_loads_every_area(locale: str) -> None:
    words = for_locale(locale)
    for area in ("prompts", "topics", "routine", "reminders"):
        assert isinstance(words.get(area), dict), f"{locale} has no {area}"


def spoken(words: Content) -> dict[str, Any]:
    """Every area of the content except the vocabulary, which holds what people say, not what we say."""
    return {area: tree for area, tree in words.tree.items() if area != "vocabulary"}


def test_every_string_is_valid_ssml_once_escaped(words: Content) -> None:
    for path, text in strings(spoken(words)):
        assert "<" not in text and ">" not in text, f"{path}: raw markup belongs in speech.py"
        filled = escape_template(text, **{name: "A & <b>" for name in fields(text)})
        root = ET.fromstring(f"<speak>{filled}</speak>")
        assert speech.plain(ET.tostring(root, encoding="unicode")), path


def test_no_break_anywhere_is_longer_than_ten_seconds(words: Content) -> None:
    for index in range(len(routine.steps(words))):
        ssml = speech.speak(*routine.step_ssml(words, index))
        ET.fromstring(ssml)
        times = re.findall(r'<break time="([\d.]+)s"/>', ssml)
        assert all(float(t) <= speech.MAX_BREAK_SECONDS for t in times), f"step {index + 1}: {times}"


def test_every_first_answer_with_its_offer_fits_in_twenty_seconds(words: Content) -> None:
    for path in topic_paths(words):
        key = f"topics.{path}"
        offer = words.say(f"{key}.offer") if words.has(f"{key}.offer") else words.say("prompts.offer_more")
        spoken = speech.speak(words.say(f"{key}.answer"), offer)
        assert speech.estimate_seconds(spoken) <= 20, f"{path}: {speech.estimate_seconds(spoken):.1f} s"


def test_every_question_topic_has_more_and_a_card(words: Content) -> None:
    for path in topic_paths(words):
        title, text = questions.card(words, path)
        assert title.strip() and text.strip(), path
        assert words.text(f"topics.{path}.answer") in text
        if not path.startswith("red_flags."):
            assert questions.has_more(words, path), f"{path} has nothing to say after yes"
            assert words.text(f"topics.{path}.more") in text


def test_aliases_point_at_real_topics(words: Content) -> None:
    for path, target in strings(words.get("topics")):
        if path.endswith(".see"):
            assert words.has(f"topics.{target}.answer"), f"{path} -> {target}"


def test_every_supplement_answer_says_talk_to_your_doctor(words: Content) -> None:
    for path in topic_paths(words):
        if path.startswith("supplements."):
            assert "doctor" in words.text(f"topics.{path}.answer").lower(), path
            assert "doctor" in words.text(f"topics.{path}.more").lower(), path
    for path, text in strings(words.get("topics")):
        if "supplement" in text.lower() and not path.endswith(("title", "]")):
            assert "doctor" in text.lower(), f"{path} mentions supplements without the doctor"


def test_every_medication_answer_says_talk_to_your_doctor_and_dont_stop(words: Content) -> None:
    for path in topic_paths(words):
        if path.startswith("medications."):
            text = words.text(f"topics.{path}.answer").lower()
            assert "new prescription" in text and "talk to your doctor" in text, path
            assert "don't stop a medicine on your own" in text, path


def test_every_condition_answer_says_see_a_doctor_if_frequent_or_worsening(words: Content) -> None:
    for path in topic_paths(words):
        if path.startswith("conditions."):
            text = words.text(f"topics.{path}.answer").lower()
            assert "frequent or worsening, see a doctor" in text, path


def test_the_dose_pattern_catches_doses() -> None:
    for text in ("take 500 mg", "2,000 IU daily", "200\u2013400 mg", "10 milligrams", "1 gram"):
        assert DOSE.search(text), text
    assert not DOSE.search("hold for 30 seconds, five-minute routine")


def test_the_only_dose_anywhere_is_200_to_400_mg_of_magnesium() -> None:
    for language in LANGUAGES:
        for file in sorted((CONTENT_DIR / language).glob("*.json")):
            for path, text in strings(json.loads(file.read_text(encoding="utf-8"))):
                for found in DOSE.findall(text):
                    assert re.fullmatch(r"200 to 400 milligrams", found.strip()), (
                        f"{file.name} {path}: {found}"
                    )
                    assert "magnesium" in text.lower(), f"{file.name} {path}: a dose not about magnesium"


def test_the_magnesium_dose_is_said_where_supplements_are_explained(words: Content) -> None:
    assert "200 to 400 milligrams" in words.text("topics.supplements.magnesium.answer")


def test_red_flags_for_red_hot_and_swollen_are_urgent_and_name_a_blood_clot(words: Content) -> None:
    for symptom in ("red", "hot", "swollen"):
        assert words.get(f"topics.red_flags.{symptom}.urgent") is True
        text = words.text(f"topics.red_flags.{symptom}.answer").lower()
        assert "blood clot" in text and "medical help now" in text and "emergency" in text
    for symptom in ("weakness", "numbness", "frequent", "severe"):
        assert not words.has(f"topics.red_flags.{symptom}.urgent")
        assert "see a doctor soon" in words.text(f"topics.red_flags.{symptom}.answer").lower()


def contract_value_ids() -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {}
    for line in CONTRACT.read_text(encoding="utf-8").split("\n- ")[1:]:
        match = re.match(r"`(\w+Type)`: (.*)", line.strip(), re.S)
        if match:
            body = re.sub(r"\([^)]*\)", "", match.group(2))
            ids[match.group(1)] = set(re.findall(r"`(\w+)`", body))
    return ids


SLOT_TYPES = {
    "causes": "CauseType",
    "medications": "MedicationType",
    "conditions": "ConditionType",
    "foods": "MineralType",
    "supplements": "SupplementType",
    "red_flags": "SymptomType",
    "stretches": "StretchType",
}


def test_every_slot_value_id_of_the_contract_has_a_topic(words: Content) -> None:
    contract = contract_value_ids()
    for question in (*questions.QUESTIONS, questions.RED_FLAGS):
        if question.slot is None:
            continue
        wanted = contract[SLOT_TYPES[question.branch]]
        assert wanted, question.branch
        assert set(words.synonyms(str(question.slot_type))) == wanted, question.branch


def test_synonyms_are_unambiguous_within_a_group(words: Content) -> None:
    for question in (*questions.QUESTIONS, questions.RED_FLAGS):
        if question.slot is None:
            continue
        seen: dict[str, str] = {}
        for value_id, names in words.synonyms(str(question.slot_type)).items():
            for name in (value_id, *names):
                normal = re.sub(r"[^a-z0-9]+", " ", name.lower().replace("_", " ")).strip()
                assert seen.setdefault(normal, value_id) == value_id, f"{question.branch}: {name!r}"


def test_the_routine_is_about_five_minutes_with_timed_holds_on_both_sides(words: Content) -> None:
    steps = routine.steps(words)
    names = [step["name"].lower() for step in steps]
    assert sum("wall calf" in name for name in names) == 2, "the wall stretch switches sides"
    assert any("forward bend" in name for name in names) and any("towel" in name for name in names)
    total = speech.estimate_seconds(words.say("routine.intro", count=len(steps)))
    for index in range(len(steps)):
        total += speech.estimate_seconds(speech.speak(*routine.step_ssml(words, index)))
        if steps[index].get("seconds"):
            assert steps[index]["seconds"] == 30
            assert steps[index]["timer"] in words.get("routine.timer")
    # Spoken words and holds; the user's "next" between steps brings it to about five minutes.
    assert 240 <= total <= 330, total


def say_and_text_calls() -> Iterator[tuple[str, int, str, set[str] | None]]:
    """Every words.say("key", ...) / words.text("key", ...) with a literal key in the handlers."""
    for file in sorted(HANDLERS.glob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("say", "text")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names = {k.arg for k in node.keywords if k.arg}
                # A **mapping splat hides its names; those calls are checked for the key only.
                splat = any(k.arg is None for k in node.keywords)
                yield file.name, node.lineno, node.args[0].value, None if splat else names


def test_every_key_the_handlers_use_exists_with_exactly_their_placeholders(words: Content) -> None:
    calls = list(say_and_text_calls())
    assert len(calls) > 40
    for file, line, key, given in calls:
        assert words.has(key), f"{file}:{line} uses missing {key!r}"
        if given is not None:
            assert fields(words.get(key)) == given, f"{file}:{line} {key!r} wants {fields(words.get(key))}"


def test_keys_the_handlers_build_at_run_time_exist_with_their_placeholders(words: Content) -> None:
    for greeting in ("stretch", "water"):
        assert not fields(words.get(f"prompts.greeting.{greeting}"))
    for key in ("routine.resume_offer", "routine.resume_offer_launch"):
        assert fields(words.get(key)) == {"number"}
        assert not fields(words.get(f"{key}_reprompt"))
    for step in routine.steps(words):
        assert step["name"] and step["say"] and not fields(step["say"])
        if step.get("seconds"):
            assert fields(words.get(f"routine.timer.{step['timer']}")) == {"seconds"}
    for path in topic_paths(words):
        for part in ("answer", "more", "offer", "title"):
            key = f"topics.{path}.{part}"
            if words.has(key):
                assert not fields(words.get(key)), key


def test_reassurance_says_most_are_harmless_then_when_to_see_a_doctor(words: Content) -> None:
    """Seed 003: occasional night cramps are usually harmless; seed 000: frequent ones are a signal."""
    answer = words.text("topics.reassurance.answer").lower()
    assert answer.index("harmless") < answer.index("see a doctor") < answer.index("red, hot or swollen")
    assert "frequent or severe" in answer and "medical help now" in answer
    more = words.text("topics.reassurance.more").lower()
    assert "doctor" in more and "signal" in more
