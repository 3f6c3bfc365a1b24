"""The interaction models against the contract (docs/intents.md), Alexa's rules, and the real skill.

Static checks read the committed JSON files (what Alexa uploads): Alexa's limits, the grammar's
output, and conflicts between intents as the simulator's matcher (interaction_models/matcher.py)
decides them. The handler checks build the real app on a migrated SQLite database, POST an
IntentRequest for every model intent, and record which request handler actually answered it, so
"has a handler" means a handler other than the fallback.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from flask import Flask

import skill.handlers
from interaction_models import build, grammar, limits
from interaction_models.matcher import Matcher, best
from skill import content
from skill.services import SkillServices
from tests.conftest import Clock
from tests.envelopes import Envelopes, speech_of

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "interaction_models"
CONTRACT = ROOT / "docs" / "intents.md"
HANDLERS_DIR = ROOT / "skill" / "handlers"
LOCALES = ("en-US", "en-GB", "en-CA", "en-AU", "en-IN")
INVOCATION_NAME = "cramp coach"

REQUIRED_BUILTINS = {
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.CancelIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.NavigateHomeIntent",
    "AMAZON.YesIntent",
    "AMAZON.NoIntent",
    "AMAZON.NextIntent",
    "AMAZON.PreviousIntent",
    "AMAZON.RepeatIntent",
    "AMAZON.StartOverIntent",
    "AMAZON.PauseIntent",
    "AMAZON.ResumeIntent",
}
# Built-in slot types the models may use.
BUILTIN_SLOT_TYPES = {"AMAZON.TIME", "AMAZON.DURATION", "AMAZON.SearchQuery"}
FREE_TEXT = "QuestionIntent"
# Built-ins Alexa does not let a skill extend with samples.
NO_SAMPLES = {"AMAZON.FallbackIntent", "AMAZON.NavigateHomeIntent"}

INTENT_NAME = re.compile(r"^(AMAZON\.)?[A-Z][A-Za-z]*Intent$")
SLOT_REF = re.compile(r"\{([^{}]*)\}")
# What Alexa accepts in sample words: letters, spaces, apostrophes, periods after initials.
SAMPLE_WORDS = re.compile(r"^[A-Za-z' .]+$")
INITIAL_PERIOD = re.compile(r"(?:^|(?<=\s))[A-Za-z]\.(?=\s|$)")


def norm(text: str) -> str:
    return " ".join(text.lower().split())


# --- Loading --------------------------------------------------------------------------------------


def load_model(locale: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MODELS_DIR / f"{locale}.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module", params=LOCALES)
def model(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load_model(str(request.param))


def language(model: dict[str, Any]) -> dict[str, Any]:
    lm: dict[str, Any] = model["interactionModel"]["languageModel"]
    return lm


def intents_of(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {intent["name"]: intent for intent in language(model)["intents"]}


def types_of(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in language(model).get("types", [])}


def slot_types_of(intent: dict[str, Any]) -> dict[str, str]:
    return {slot["name"]: slot["type"] for slot in intent.get("slots", [])}


def all_samples(intent: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, sample) for the intent's samples and its slots' elicitation samples."""
    for sample in intent.get("samples", []):
        yield "intent", sample
    for slot in intent.get("slots", []):
        for sample in slot.get("samples", []):
            yield f"slot {slot['name']}", sample


# --- The contract (docs/intents.md) ---------------------------------------------------------------


@dataclass
class Contract:
    intents: set[str] = field(default_factory=set)
    # intent -> slot -> type, for the intents whose table row lists slots
    slots: dict[str, dict[str, str]] = field(default_factory=dict)
    # type -> value id -> synonyms the contract quotes for it
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # types whose id list the contract abbreviates ("monday … sunday")
    abbreviated: set[str] = field(default_factory=set)


def read_contract() -> Contract:
    text = CONTRACT.read_text(encoding="utf-8")
    contract = Contract()
    for token in re.findall(r"`([^`]+)`", text):
        if INTENT_NAME.match(token):
            contract.intents.add(token)
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2:
            continue
        name = cells[0].strip("`")
        if not INTENT_NAME.match(name):
            continue
        pending: list[str] = []
        slots: dict[str, str] = {}
        for match in re.finditer(r"\(`([\w.]+)`[^)]*\)|`(\w+)`", cells[1]):
            if match.group(1):
                for slot in pending:
                    slots[slot] = match.group(1)
                pending = []
            else:
                pending.append(match.group(2))
        assert not pending, f"contract row for {name} has slots without a type: {pending}"
        contract.slots[name] = slots
    # Slot type bullets, joined with their indented continuation lines.
    section = text.split("## Slot types and value ids", 1)[1]
    bullets: list[str] = []
    for line in section.splitlines():
        if line.startswith("- "):
            bullets.append(line[2:])
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
    for bullet in bullets:
        type_name, _, rest = bullet.partition(":")
        type_name = type_name.strip().strip("`")
        values: dict[str, list[str]] = {}
        for match in re.finditer(r"`(\w+)`(?:\s*\(([^)]*)\))?", rest):
            values[match.group(1)] = [
                " ".join(s.split()) for s in re.findall(r'"([^"]+)"', match.group(2) or "")
            ]
        if "…" in rest or "..." in rest:
            contract.abbreviated.add(type_name)
        contract.values[type_name] = values
    return contract


CONTRACT_DATA = read_contract()


def test_contract_parses() -> None:
    # Guards the parser: if docs/intents.md changes shape, fail here rather than check nothing.
    assert len(CONTRACT_DATA.intents) >= 25
    assert CONTRACT_DATA.slots["SetReminderIntent"]["timeTwo"] == "AMAZON.TIME"
    assert CONTRACT_DATA.slots["CausesIntent"] == {"cause": "CauseType"}
    assert "water pills" in CONTRACT_DATA.values["MedicationType"]["diuretics"]
    assert "DayType" in CONTRACT_DATA.abbreviated


def test_every_contract_intent_is_in_the_model(model: dict[str, Any]) -> None:
    missing = CONTRACT_DATA.intents - set(intents_of(model))
    assert not missing, f"intents in docs/intents.md but not in the model: {sorted(missing)}"


def test_required_builtins_are_in_the_model(model: dict[str, Any]) -> None:
    missing = REQUIRED_BUILTINS - set(intents_of(model))
    assert not missing, f"built-in intents missing: {sorted(missing)}"


WORDING: dict[str, dict[str, str]] = content.load_language("en").get("vocabulary.wording")


def own_slots(intent: dict[str, Any]) -> dict[str, str]:
    """The intent's slots without its wording slots (which only carry how it was said)."""
    return {name: t for name, t in slot_types_of(intent).items() if name not in WORDING}


def test_slots_match_the_contract(model: dict[str, Any]) -> None:
    intents = intents_of(model)
    for name, slots in CONTRACT_DATA.slots.items():
        assert own_slots(intents[name]) == slots, name
    # An intent the contract gives no slots has none of its own in the model either.
    for name, intent in intents.items():
        if name in CONTRACT_DATA.intents and name not in CONTRACT_DATA.slots:
            assert not own_slots(intent), f"{name} has slots the contract does not define"
        for slot, type_name in slot_types_of(intent).items():
            if slot in WORDING:
                assert type_name == WORDING[slot]["type"], f"{name}.{slot}"


def test_wording_slots_are_documented_and_typed_from_the_word_lists(model: dict[str, Any]) -> None:
    text = CONTRACT.read_text(encoding="utf-8").split("## Wording slots", 1)[1].split("\n## ", 1)[0]
    documented = dict(re.findall(r"`(\w+)`: `(\w+Words?)`", text))
    assert documented == {name: node["type"] for name, node in WORDING.items()}
    types = types_of(model)
    for node in WORDING.values():
        values = [v["name"]["value"] for v in types[node["type"]]["values"]]
        assert values and all(not v["name"].get("synonyms") for v in types[node["type"]]["values"])
        assert len(values) == len(set(values)), node["type"]


def test_no_two_slots_sit_side_by_side_outside_setting_a_reminder(model: dict[str, Any]) -> None:
    """The simulator reads "{a} {b}" as one wildcard, so only SetReminderIntent keeps such samples
    (for Alexa, which splits them; the harness splits a time from its days)."""
    side_by_side = [
        f"{intent['name']}: {sample!r}"
        for intent in language(model)["intents"]
        if intent["name"] != "SetReminderIntent"
        for sample in intent.get("samples", [])
        if re.search(r"\}\s*\{", sample)
    ]
    assert side_by_side == []


def test_every_sample_of_our_own_intents_holds_a_slot(model: dict[str, Any]) -> None:
    """A grammar, not a list: whole sentences are never samples, so people's words are matched."""
    literal = [
        f"{intent['name']}: {sample!r}"
        for intent in language(model)["intents"]
        if not intent["name"].startswith("AMAZON.")
        for sample in intent.get("samples", [])
        if not SLOT_REF.search(sample)
    ]
    assert literal == []


def test_slot_values_match_the_contract(model: dict[str, Any]) -> None:
    types = types_of(model)
    for type_name, documented in CONTRACT_DATA.values.items():
        assert type_name in types, f"slot type {type_name} is missing"
        values = {v["id"]: v["name"] for v in types[type_name]["values"]}
        if type_name in CONTRACT_DATA.abbreviated:
            assert set(documented) <= set(values), type_name
        else:
            assert set(values) == set(documented), f"{type_name}: ids differ from docs/intents.md"
        for value_id, quoted in documented.items():
            words = {
                norm(values[value_id]["value"]),
                *(norm(s) for s in values[value_id].get("synonyms", [])),
            }
            for phrase in quoted:
                assert norm(phrase) in words, f"{type_name}.{value_id} lacks the documented {phrase!r}"


# --- Alexa's rules ----------------------------------------------------------------------------


def test_invocation_name(model: dict[str, Any]) -> None:
    assert language(model)["invocationName"] == INVOCATION_NAME


def test_slot_types_referenced_exist_and_are_used(model: dict[str, Any]) -> None:
    types = types_of(model)
    used: set[str] = set()
    for name, intent in intents_of(model).items():
        for slot, type_name in slot_types_of(intent).items():
            used.add(type_name)
            assert type_name in types or type_name in BUILTIN_SLOT_TYPES, (
                f"{name}.{slot}: unknown {type_name}"
            )
    assert not set(types) - used, f"slot types no intent uses: {sorted(set(types) - used)}"


def check_words(text: str, what: str) -> None:
    assert text == text.strip() and text, f"{what}: empty or padded {text!r}"
    assert "  " not in text, f"{what}: double space in {text!r}"
    assert SAMPLE_WORDS.match(text), f"{what}: characters Alexa rejects in {text!r}"
    without_initials = INITIAL_PERIOD.sub("", text)
    assert "." not in without_initials, f"{what}: a period that is not after an initial in {text!r}"


def test_value_ids_unique_and_synonyms_well_formed(model: dict[str, Any]) -> None:
    for type_name, slot_type in types_of(model).items():
        ids = [v["id"] for v in slot_type["values"]]
        assert len(ids) == len(set(ids)), f"{type_name}: duplicate value ids"
        assert all(re.fullmatch(r"[a-z][a-z_]*", i) for i in ids), f"{type_name}: odd ids {ids}"
        owner: dict[str, str] = {}
        for value in slot_type["values"]:
            words = [value["name"]["value"], *value["name"].get("synonyms", [])]
            for word in words:
                check_words(word, f"{type_name}.{value['id']}")
                key = norm(word)
                assert key not in owner, (
                    f"{type_name}: {word!r} belongs to {owner[key]!r} and {value['id']!r}"
                    if owner.get(key) != value["id"]
                    else f"{type_name}.{value['id']}: {word!r} listed twice"
                )
                owner[key] = value["id"]


def test_samples_are_well_formed(model: dict[str, Any]) -> None:
    for name, intent in intents_of(model).items():
        declared = set(slot_types_of(intent))
        referenced: set[str] = set()
        if name in NO_SAMPLES:
            assert not intent.get("samples"), f"{name} cannot have samples"
        seen: set[tuple[str, str]] = set()
        for where, sample in all_samples(intent):
            what = f"{name} ({where})"
            assert (where, norm(sample)) not in seen, f"{what}: {sample!r} listed twice"
            seen.add((where, norm(sample)))
            slots = SLOT_REF.findall(sample)
            assert sample.count("{") == sample.count("}") == len(slots), (
                f"{what}: broken braces in {sample!r}"
            )
            for slot in slots:
                assert slot in declared, f"{what}: {{{slot}}} is not a slot of the intent"
            assert len(slots) == len(set(slots)), f"{what}: a slot used twice in {sample!r}"
            referenced.update(slots)
            words = SLOT_REF.sub("", sample)
            if words.strip():
                check_words(" ".join(words.split()), f"{what} sample")
            else:
                assert slots, f"{what}: empty sample"
            assert "alexa" not in norm(sample) and INVOCATION_NAME not in norm(sample), what
            if where != "intent":
                slot_name = where.removeprefix("slot ")
                assert slot_name in slots, f"{what}: slot sample without {{{slot_name}}}: {sample!r}"
        unused = declared - referenced
        assert not unused, f"{name}: slots no sample mentions: {sorted(unused)}"


def test_no_sample_is_duplicated_across_intents(model: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name, intent in intents_of(model).items():
        for sample in intent.get("samples", []):
            key = norm(sample)
            assert key not in seen, f"{sample!r} is a sample of {seen[key]} and {name}"
            seen[key] = name


def test_dialog_and_prompts(model: dict[str, Any]) -> None:
    interaction = model["interactionModel"]
    intents = intents_of(model)
    prompts = {p["id"]: p for p in interaction["prompts"]}
    for prompt in prompts.values():
        assert prompt["variations"], prompt["id"]
        for variation in prompt["variations"]:
            assert variation["type"] in {"PlainText", "SSML"} and variation["value"].strip(), prompt["id"]
    dialog = {d["name"]: d for d in interaction["dialog"]["intents"]}
    used: set[str] = set()
    for name, dialog_intent in dialog.items():
        assert name in intents, f"dialog intent {name} is not in the language model"
        assert {s["name"]: s["type"] for s in dialog_intent["slots"]} == slot_types_of(intents[name]), name
        if dialog_intent.get("confirmationRequired"):
            used.add(dialog_intent["prompts"]["confirmation"])
        for slot in dialog_intent["slots"]:
            if slot.get("elicitationRequired"):
                used.add(slot["prompts"]["elicitation"])
                # Alexa elicits a slot with the slot's own samples.
                assert any("{" + slot["name"] + "}" in s for s in slot_samples(intents[name], slot["name"]))
            if slot.get("confirmationRequired"):
                used.add(slot["prompts"]["confirmation"])
    assert used <= set(prompts), f"prompt ids referenced but missing: {sorted(used - set(prompts))}"
    assert set(prompts) <= used, f"prompts nothing refers to: {sorted(set(prompts) - used)}"
    # The reminder handlers send Dialog.ElicitSlot for these intents, so they need a dialog model.
    assert required_slots(dialog["SetReminderIntent"]) == {"kind", "time"}
    assert required_slots(dialog["MoveReminderIntent"]) == {"kind", "time"}
    assert required_slots(dialog["CancelReminderIntent"]) == {"kind"}
    assert dialog["CancelAllRemindersIntent"]["confirmationRequired"] is True


def required_slots(dialog_intent: dict[str, Any]) -> set[str]:
    return {s["name"] for s in dialog_intent["slots"] if s.get("elicitationRequired")}


def slot_samples(intent: dict[str, Any], slot_name: str) -> list[str]:
    for slot in intent.get("slots", []):
        if slot["name"] == slot_name:
            return list(slot.get("samples", []))
    return []


# --- The five locales, and the generator ------------------------------------------------------


def shape(model: dict[str, Any]) -> dict[str, Any]:
    wording_types = {node["type"] for node in WORDING.values()}
    return {
        "intents": {name: slot_types_of(intent) for name, intent in intents_of(model).items()},
        # Wording values are words, not ids anyone reads: they may differ by locale ("trainers").
        "types": {
            name: sorted(v["id"] for v in t["values"])
            for name, t in types_of(model).items()
            if name not in wording_types
        },
        "dialog": model["interactionModel"]["dialog"],
        "prompts": sorted(p["id"] for p in model["interactionModel"]["prompts"]),
    }


def test_the_five_models_agree() -> None:
    reference = shape(load_model("en-US"))
    for locale in LOCALES[1:]:
        assert shape(load_model(locale)) == reference, f"{locale} differs from en-US"


def test_committed_models_are_what_build_py_writes() -> None:
    assert tuple(build.LOCALES) == LOCALES
    for locale in LOCALES:
        committed = (MODELS_DIR / f"{locale}.json").read_text(encoding="utf-8")
        assert committed == build.render(locale), (
            f"{locale}.json is stale: run python -m interaction_models.build"
        )


def test_the_five_models_share_their_samples_and_differ_in_words() -> None:
    """The locales' own words live in slot values, so every locale has the same samples."""

    def samples(locale: str) -> dict[str, list[str]]:
        return {i["name"]: i["samples"] for i in language(load_model(locale))["intents"]}

    def words(locale: str) -> set[str]:
        return {
            norm(w)
            for t in language(load_model(locale))["types"]
            for v in t["values"]
            for w in (v["name"]["value"], *v["name"].get("synonyms", []))
        }

    for locale in LOCALES[1:]:
        assert samples(locale) == samples("en-US"), locale
    assert words("en-CA") == words("en-US")
    assert words("en-AU") == words("en-GB") == words("en-IN")
    assert words("en-US") != words("en-GB")


# --- Alexa's limits, and the free-text intent ------------------------------------------------------


def test_every_model_is_within_alexa_limits(model: dict[str, Any]) -> None:
    assert limits.problems(model) == []
    total = sum(len(i.get("samples", [])) for i in language(model)["intents"])
    assert 1_000 < total <= limits.MAX_SAMPLES, total


def test_the_limit_checks_catch_what_they_guard() -> None:
    too_long = "why " + "very " * 45 + "{query}"
    model = {
        "interactionModel": {
            "languageModel": {
                "invocationName": INVOCATION_NAME,
                "intents": [
                    {
                        "name": "FreeIntent",
                        "slots": [
                            {"name": "query", "type": "AMAZON.SearchQuery"},
                            {"name": "x", "type": "XType"},
                        ],
                        "samples": ["{query}", "tell me {query} about {x}", too_long],
                    },
                    {"name": "SlotOnlyIntent", "slots": [{"name": "x", "type": "XType"}], "samples": ["{x}"]},
                    {"name": "BigIntent", "samples": [f"sample number {n}" for n in range(1_001)]},
                ],
                "types": [{"name": "XType", "values": [{"id": "x", "name": {"value": "x" * 141}}]}],
            },
            "dialog": {"intents": [{"name": "SlotOnlyIntent", "slots": []}]},
        }
    }
    found = "\n".join(limits.problems(model))
    for expected in (
        "'{query}': AMAZON.SearchQuery without a carrier phrase",
        "AMAZON.SearchQuery with another slot",
        "is over 200 characters",
        "SlotOnlyIntent: '{x}' is slots alone",
        "BigIntent: 1001 samples",
        "over 140 characters",
    ):
        assert expected in found, expected


def test_the_free_text_intent_is_carrier_phrases_and_comes_last(model: dict[str, Any]) -> None:
    intents = language(model)["intents"]
    free = intents_of(model)[FREE_TEXT]
    assert free["slots"] == [{"name": "query", "type": "AMAZON.SearchQuery", "samples": []}]
    carriers = [s.removesuffix(" {query}") for s in free["samples"]]
    assert all(
        s.endswith(" {query}") and c and "{" not in c for s, c in zip(free["samples"], carriers, strict=True)
    )
    assert {"why", "what", "how", "can", "does", "is", "my", "I", "tell me about"} <= set(carriers)
    # Ties go to the first intent in model order: a specific sample that fits as well wins.
    assert intents[-1]["name"] == FREE_TEXT
    assert all(
        t != "AMAZON.SearchQuery"
        for i in intents
        if i["name"] != FREE_TEXT
        for t in slot_types_of(i).values()
    )


# --- The grammar ------------------------------------------------------------------------------------


WORDS = {"legs": ["legs", "calves", "feet"], "night": ["at night", "in bed"]}


def test_a_template_expands_to_its_product_in_order() -> None:
    assert grammar.expand("why do my <legs> (cramp|ache) [<night>]", WORDS) == [
        f"why do my {leg} {verb}{tail}"
        for leg in WORDS["legs"]
        for verb in ("cramp", "ache")
        for tail in ("", " at night", " in bed")
    ]
    assert grammar.expand("(what is|what's) (a (cramp|spasm)|an ache)", WORDS) == [
        "what is a cramp",
        "what is a spasm",
        "what is an ache",
        "what's a cramp",
        "what's a spasm",
        "what's an ache",
    ]


def test_a_cap_keeps_a_stable_subset_of_the_product() -> None:
    text = "why do my <legs> (cramp|ache|hurt|tighten up) [<night>]"
    everything = grammar.expand(text, WORDS)
    capped = grammar.expand(grammar.Template(text, cap=10), WORDS)
    assert len(everything) == 36 and len(capped) == 10
    assert set(capped) <= set(everything)
    assert capped == sorted(capped, key=everything.index), "the subset keeps the product's order"
    assert capped == grammar.expand(grammar.Template(text, cap=10), WORDS), "the same subset every time"


@pytest.mark.parametrize("bad", ["a|b", "(a|b", "a)", "[a", "<legs", "<nothing>"])
def test_a_malformed_template_is_refused(bad: str) -> None:
    with pytest.raises(grammar.GrammarError):
        grammar.expand(bad, WORDS)


def test_building_twice_gives_the_same_models() -> None:
    assert build.render("en-GB") == build.render("en-GB")


# --- Conflicts between intents, as the simulator's matcher sees them ----------------------------------


def instances(model: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """(intent, sample, phrase, expected value ids) with the sample's slots filled in.

    Custom slots take every value's name and one synonym (a different one from sample to sample);
    built-in slots take a time or a phrase. Two kinds of sample are left out, because the simulator
    cannot read them the way Alexa does: samples with a spelled-out initialism ("R. L. S.": its
    periods match any character, and typed phrases lose theirs), and samples with two slots side by
    side (the first one swallows both). A value that repeats the word before its slot ("every" and
    "every day") is skipped too.
    """
    types = {t["name"]: t["values"] for t in language(model)["types"]}
    built_in = {
        "AMAZON.TIME": "nine thirty pm",
        "AMAZON.DURATION": "a week",
        "AMAZON.SearchQuery": "why my feet cramp",
    }
    for intent in language(model)["intents"]:
        slot_types = slot_types_of(intent)
        for index, sample in enumerate(intent.get("samples", [])):
            if "." in sample or re.search(r"\}\s*\{", sample):
                continue
            names = SLOT_REF.findall(sample)
            custom = [n for n in names if slot_types[n] in types]
            fills: list[tuple[str, dict[str, str]]] = []
            if custom:
                for value in types[slot_types[custom[0]]]:
                    words = [value["name"]["value"], *value["name"].get("synonyms", [])]
                    for word in dict.fromkeys((words[0], words[index % len(words)])):
                        if "." not in word:
                            fills.append((word, {custom[0]: value["id"]}))
            else:
                fills.append(("", {}))
            for word, expected in fills:
                if custom and _repeats(sample, custom[0], word):
                    continue  # "every {days}" with "every day": a phrase nobody says
                phrase = sample
                for name in names:
                    t = slot_types[name]
                    if custom and name == custom[0]:
                        filler = word
                    elif t in types:
                        names_of = (v["name"]["value"] for v in types[t])
                        filler = next(n for n in names_of if not _repeats(sample, name, n))
                    else:
                        filler = built_in[t]
                    phrase = phrase.replace("{" + name + "}", filler)
                if any(slot_types[n] in built_in for n in names):
                    # A built-in slot takes any words, so which slot got which is the simulator's guess.
                    expected = {}
                yield intent["name"], sample, phrase, expected


def _repeats(sample: str, slot: str, word: str) -> bool:
    """Whether ``word`` starts with the word just before ``{slot}`` in the sample."""
    before = sample.split("{" + slot + "}", 1)[0].split()
    return bool(before) and word.split()[0].lower() == before[-1].lower()


@pytest.mark.parametrize("locale", ["en-US", "en-GB"])
def test_no_sample_of_one_intent_is_matched_by_another(locale: str) -> None:
    """Every sample, said as it is, lands on its own intent and slot value, and on no other intent.

    The free-text QuestionIntent matches almost anything by design; a sample of another intent must
    still beat it, which is what puts the free-text intent last.
    """
    model = load_model(locale)
    matcher = Matcher(model)
    wrong: list[str] = []
    checked = 0
    for intent, sample, phrase, expected in instances(model):
        checked += 1
        candidates = list(matcher.candidates(phrase))
        chosen = best(candidates)
        others = {c.intent for c in candidates} - {intent, FREE_TEXT}
        if chosen is None or chosen.intent != intent:
            wrong.append(f"{phrase!r} ({intent}: {sample!r}) resolves to {chosen and chosen.intent}")
        elif others and intent != FREE_TEXT:
            wrong.append(f"{phrase!r} ({intent}) is also a sample of {sorted(others)}")
        elif set(chosen.slots) <= set(chosen.resolved) and any(
            chosen.resolved.get(slot) != value for slot, value in expected.items()
        ):
            # (When the chosen sample has a built-in slot, that slot may have taken the words.)
            wrong.append(f"{phrase!r} ({intent}) resolves {chosen.resolved}, not {expected}")
    assert checked > 10_000
    assert wrong == []


# --- The held-out phrasings stay held out ------------------------------------------------------------

HELDOUT = ROOT / "tests" / "heldout" / "phrasings.json"


def test_no_heldout_phrasing_is_a_sample_of_any_model() -> None:
    """They measure how far the grammar reaches; one copied into the samples measures nothing."""
    said = {norm(e["say"]) for e in json.loads(HELDOUT.read_text(encoding="utf-8"))}
    assert len(said) >= 250
    for locale in LOCALES:
        literal = {
            norm(sample)
            for intent in language(load_model(locale))["intents"]
            for sample in intent.get("samples", [])
            if "{" not in sample
        }
        assert said & literal == set(), f"{locale} has held-out phrasings as samples"


def test_the_generator_never_reads_the_heldout_file() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in sorted(MODELS_DIR.glob("*.py")))
    for word in ("heldout", "held-out", "held_out", "phrasings.json"):
        assert word not in sources.lower(), word
    vocabulary = (ROOT / "skill" / "content" / "en" / "vocabulary.json").read_text(encoding="utf-8")
    assert "heldout" not in vocabulary and "phrasings.json" not in vocabulary


# --- Every model intent has a handler; every handler's intent is in every model ---------------------


def handler_intent_names() -> set[str]:
    """Intent names that appear as string literals in skill/handlers/*.py."""
    names: set[str] = set()
    for path in sorted(HANDLERS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and INTENT_NAME.match(node.value)
            ):
                names.add(node.value)
    return names


def test_every_handler_intent_is_in_every_model() -> None:
    names = handler_intent_names()
    for locale in LOCALES:
        missing = names - set(intents_of(load_model(locale)))
        assert not missing, f"handlers use intents that {locale} lacks: {sorted(missing)}"


class Recorder(AbstractRequestHandler):
    """Wraps a real handler and notes its class name when it answers a request."""

    def __init__(self, inner: AbstractRequestHandler, log: list[str]) -> None:
        self.inner = inner
        self.log = log

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(self.inner.can_handle(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response | None:
        self.log.append(type(self.inner).__name__)
        return self.inner.handle(handler_input)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    log: list[str] = []
    original = skill.handlers.request_handlers

    def recording(services: SkillServices) -> list[AbstractRequestHandler]:
        return [Recorder(h, log) for h in original(services)]

    monkeypatch.setattr(skill.handlers, "request_handlers", recording)
    return log


# Turns that put the conversation where an intent makes sense (routine controls need a routine
# running, yes/no need an offer). PreventionIntent offers the routine or a reminder.
CONTEXT: dict[str, tuple[str, ...]] = {
    "AMAZON.NextIntent": ("StartRoutineIntent",),
    "AMAZON.PreviousIntent": ("StartRoutineIntent", "AMAZON.NextIntent"),
    "AMAZON.RepeatIntent": ("StartRoutineIntent",),
    "AMAZON.StartOverIntent": ("StartRoutineIntent", "AMAZON.NextIntent"),
    "AMAZON.PauseIntent": ("StartRoutineIntent",),
    "AMAZON.ResumeIntent": ("StartRoutineIntent", "AMAZON.PauseIntent"),
    "AMAZON.YesIntent": ("PreventionIntent",),
    "AMAZON.NoIntent": ("PreventionIntent",),
}


@dataclass
class Answer:
    handler: str | None
    speech: str


class Conversation:
    """One session against the real app: session attributes carry from turn to turn."""

    def __init__(self, app: Flask, envelopes: Envelopes, log: list[str]) -> None:
        self.client = app.test_client()
        self.envelopes = envelopes
        self.log = log
        self.attributes: dict[str, Any] = {}

    def send(self, intent: str) -> Answer:
        before = len(self.log)
        body = self.envelopes.intent(intent, session_attributes=self.attributes)
        response = self.client.post("/alexa", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.get_data(as_text=True)
        payload = response.get_json()
        self.attributes = payload.get("sessionAttributes") or {}
        handled = self.log[before:]
        return Answer(handled[-1] if handled else None, speech_of(payload))


@pytest.fixture
def talk(recorded: list[str], make_app: Callable[..., Flask], clock: Clock) -> Callable[[], Conversation]:
    """Starts a new session (same user, same database) each time it is called."""
    app = make_app()

    def start() -> Conversation:
        envelopes = Envelopes(clock)
        # Alexa API calls (if any) go to a closed loopback port: no traffic leaves this machine.
        envelopes.api_endpoint = "http://127.0.0.1:9"
        return Conversation(app, envelopes, recorded)

    return start


MODEL_INTENTS = sorted(intents_of(load_model("en-US")))


@pytest.mark.parametrize("intent", MODEL_INTENTS)
def test_every_model_intent_has_a_handler(intent: str, talk: Callable[[], Conversation]) -> None:
    # Who answers what the skill does not understand: FallbackIntent, and an intent no model declares.
    fallback = {talk().send("AMAZON.FallbackIntent").handler, talk().send("NoSuchThingIntent").handler}
    error = content.for_locale("en-US").say("prompts.error")

    conversation = talk()
    for turn in CONTEXT.get(intent, ()):
        conversation.send(turn)
    answer = conversation.send(intent)
    assert answer.handler is not None, f"no request handler answered {intent}: {answer.speech}"
    assert error not in answer.speech, f"{answer.handler} failed on {intent}: {answer.speech}"
    if intent != "AMAZON.FallbackIntent":
        assert answer.handler not in fallback, f"{intent} was answered by the fallback ({answer.handler})"
