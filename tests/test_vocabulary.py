"""One vocabulary: the models' slot types and the handlers' word matching both come from vocabulary.json.

The generator (interaction_models/build.py) writes every model's slot types from the file; the
running skill reads the same file through ``Content.synonyms`` and matches what was heard with
``skill.slots``. These tests check that the file is the only list, that it ships with the package,
that locale-only words land only in their locales' models, and that every word any model accepts
leads the handlers to the same value id without Alexa's help.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from interaction_models import build
from skill.content import CONTENT_DIR, SUPPORTED_LOCALES, for_locale, load_language
from skill.slots import match_synonym

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = CONTENT_DIR / "en" / "vocabulary.json"
WORDS = load_language("en")


def norm(text: str) -> str:
    return " ".join(text.lower().split())


WORDING_TYPES = {node["type"] for node in WORDS.get("vocabulary.wording").values()}


def model_types(locale: str) -> dict[str, dict[str, list[str]]]:
    """type -> value id -> every word the committed model accepts for it (wording types aside)."""
    model = json.loads((ROOT / "interaction_models" / f"{locale}.json").read_text(encoding="utf-8"))
    return {
        t["name"]: {v["id"]: [v["name"]["value"], *v["name"].get("synonyms", [])] for v in t["values"]}
        for t in model["interactionModel"]["languageModel"]["types"]
        if t["name"] not in WORDING_TYPES
    }


def test_the_generator_and_the_skill_read_the_same_file() -> None:
    assert build.VOCABULARY.resolve() == VOCABULARY.resolve()
    assert WORDS.get("vocabulary") == json.loads(VOCABULARY.read_text(encoding="utf-8"))


def test_the_vocabulary_ships_with_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # package-data for skill: every content/<language>/*.json file.
    assert re.search(r'skill = \[[^\]]*"content/\*/\*\.json"', pyproject)
    assert VOCABULARY.parent.parent == CONTENT_DIR


def test_no_other_content_file_keeps_synonyms() -> None:
    for path in sorted(CONTENT_DIR.glob("*/*.json")):
        if path.name == "vocabulary.json":
            continue
        assert '"synonyms"' not in path.read_text(encoding="utf-8"), f"{path.name} keeps its own synonyms"


@pytest.mark.parametrize("locale", build.LOCALES)
def test_each_model_carries_exactly_the_vocabulary_for_its_locale(locale: str) -> None:
    vocabulary: dict[str, Any] = WORDS.get("vocabulary")
    groups: dict[str, list[str]] = vocabulary["locale_groups"]
    expected: dict[str, dict[str, list[str]]] = {}
    for type_name, values in vocabulary["slot_types"].items():
        expected[type_name] = {}
        for value_id, value in values.items():
            local = [
                w
                for key, ws in value.get("local", {}).items()
                if locale == key or locale in groups[key]
                for w in ws
            ]
            expected[type_name][value_id] = [value["name"], *value.get("synonyms", []), *local]
    assert model_types(locale) == expected


def test_locale_words_stay_in_their_locales() -> None:
    def words(locale: str) -> set[str]:
        return {norm(w) for values in model_types(locale).values() for ws in values.values() for w in ws}

    for locale in ("en-GB", "en-AU", "en-IN"):
        assert {"trainers", "water tablets", "ageing"} <= words(locale), locale
        assert "sneakers" not in words(locale), locale
    for locale in ("en-US", "en-CA"):
        assert "sneakers" in words(locale), locale
        assert not {"trainers", "water tablets", "ageing"} & words(locale), locale


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_model_word_reaches_the_same_value_id_in_the_skill(locale: str) -> None:
    """What Alexa would resolve, the handlers resolve too when a request carries only the words."""
    words = for_locale(locale)
    misses = [
        f"{type_name}: {word!r} -> {found!r}, model says {value_id!r}"
        for type_name, values in model_types(locale).items()
        for value_id, names in values.items()
        for word in names
        if (found := match_synonym(word, words.synonyms(type_name))) != value_id
    ]
    assert misses == []


def test_the_skill_understands_every_locale_s_words() -> None:
    # A US user who says "trainers" is still understood: the runtime list is the union.
    assert match_synonym("trainers", WORDS.synonyms("CauseType")) == "shoes"
    assert match_synonym("sneakers", WORDS.synonyms("CauseType")) == "shoes"
    assert match_synonym("water tablets", WORDS.synonyms("MedicationType")) == "diuretics"


def test_words_are_unambiguous_within_a_type_and_tidy() -> None:
    for type_name, values in WORDS.get("vocabulary.slot_types").items():
        owner: dict[str, str] = {}
        for value_id, value in values.items():
            assert re.fullmatch(r"[a-z][a-z_]*", value_id), value_id
            local = [w for ws in value.get("local", {}).values() for w in ws]
            for word in (value["name"], *value.get("synonyms", []), *local):
                assert word == word.strip() and "  " not in word, f"{type_name}.{value_id}: {word!r}"
                key = norm(word)
                assert owner.setdefault(key, value_id) == value_id, f"{type_name}: {word!r} in two values"
            assert len({norm(w) for w in (value["name"], *value.get("synonyms", []), *local)}) == len(
                [value["name"], *value.get("synonyms", []), *local]
            ), f"{type_name}.{value_id} lists a word twice"


def test_locale_groups_name_real_locales() -> None:
    groups: dict[str, list[str]] = WORDS.get("vocabulary.locale_groups")
    for members in groups.values():
        assert set(members) <= set(build.LOCALES)
    for type_name, values in WORDS.get("vocabulary.slot_types").items():
        for value in values.values():
            for key in value.get("local", {}):
                assert key in groups or key in build.LOCALES, f"{type_name}: unknown locale group {key!r}"
