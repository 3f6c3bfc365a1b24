"""The interaction-model limits the generator stays inside, each with where it comes from.

Alexa refuses to build a model that breaks these, and a model near them builds slowly and
generalises worse. ``problems(model)`` lists every breach; build.py refuses to write a model with
any, and tests/test_interaction_models.py checks the committed files.

Figures, and their sources:
- 140 characters per slot value or synonym: the developer console's "Slot value length exceeds the
  limit of 140 characters" (quoted in m0ngr31/kanzi#263).
- 50,000 slot values and synonyms over all custom slot types (alexa-js/alexa-app#34).
- 1,000,000 characters for the whole model: SMAPI's constraint on ``modelDefinition`` ("Member must
  have length less than or equal to 1000000", alexa/ask-cli#9).
- A sample with an AMAZON.SearchQuery slot needs a carrier phrase: the build fails with
  MissingCarrierPhraseWithPhraseSlot otherwise.
- With a dialog model, an intent's sample may not be slots alone ("sample utterances for intents
  cannot contain only slots", alexa/alexa-cookbook#29).
- 250 intents, 200 characters per sample, and AMAZON.SearchQuery once per sample and never beside
  another slot: the ASK documentation's interaction-model rules.
- Samples per intent: Amazon gives no figure for Alexa that we found (Lex V2 allows 1,500). Ours is
  a budget well below that, which also keeps the strict simulator quick; so is the total.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_INTENTS = 250
MAX_SAMPLE_CHARS = 200
MAX_SLOT_VALUE_CHARS = 140
MAX_SLOT_VALUES_AND_SYNONYMS = 50_000
MAX_MODEL_CHARS = 1_000_000
# Our own budgets (see above): per intent, and for the whole model.
MAX_SAMPLES_PER_INTENT = 1_000
MAX_SAMPLES = 12_000

SEARCH_QUERY = "AMAZON.SearchQuery"
_SLOT = re.compile(r"\{([^{}]+)\}")


def problems(model: dict[str, Any]) -> list[str]:
    """Every limit the model breaks, as one readable line each; empty when it is within all of them."""
    found: list[str] = []
    interaction = model["interactionModel"]
    language = interaction["languageModel"]
    intents = language["intents"]
    types = language.get("types", [])
    has_dialog = bool(interaction.get("dialog", {}).get("intents"))

    if len(intents) > MAX_INTENTS:
        found.append(f"{len(intents)} intents, more than {MAX_INTENTS}")
    total = 0
    for intent in intents:
        name = intent["name"]
        slot_types = {slot["name"]: slot["type"] for slot in intent.get("slots", [])}
        samples = intent.get("samples", [])
        total += len(samples)
        if len(samples) > MAX_SAMPLES_PER_INTENT:
            found.append(f"{name}: {len(samples)} samples, more than {MAX_SAMPLES_PER_INTENT}")
        for sample in samples:
            found.extend(_sample_problems(name, sample, slot_types, has_dialog))
        for slot in intent.get("slots", []):
            for sample in slot.get("samples", []):
                if len(sample) > MAX_SAMPLE_CHARS:
                    found.append(f"{name}.{slot['name']}: slot sample over {MAX_SAMPLE_CHARS} characters")
    if total > MAX_SAMPLES:
        found.append(f"{total} samples in all, more than {MAX_SAMPLES}")

    values = 0
    for slot_type in types:
        for value in slot_type.get("values", []):
            words = [value["name"]["value"], *value["name"].get("synonyms", [])]
            values += len(words)
            for word in words:
                if len(word) > MAX_SLOT_VALUE_CHARS:
                    found.append(
                        f"{slot_type['name']}: {word[:30]!r}... over {MAX_SLOT_VALUE_CHARS} characters"
                    )
    if values > MAX_SLOT_VALUES_AND_SYNONYMS:
        found.append(f"{values} slot values and synonyms, more than {MAX_SLOT_VALUES_AND_SYNONYMS}")

    size = len(json.dumps(model, ensure_ascii=False))
    if size > MAX_MODEL_CHARS:
        found.append(f"model is {size} characters, more than {MAX_MODEL_CHARS}")
    return found


def _sample_problems(intent: str, sample: str, slot_types: dict[str, str], has_dialog: bool) -> list[str]:
    found: list[str] = []
    where = f"{intent}: {sample!r}"
    if len(sample) > MAX_SAMPLE_CHARS:
        found.append(f"{where} is over {MAX_SAMPLE_CHARS} characters")
    slots = _SLOT.findall(sample)
    carrier = _SLOT.sub("", sample).strip()
    if has_dialog and slots and not carrier:
        found.append(f"{where} is slots alone (not allowed with a dialog model)")
    phrase_slots = [s for s in slots if slot_types.get(s) == SEARCH_QUERY]
    if phrase_slots:
        if not carrier:
            found.append(f"{where}: AMAZON.SearchQuery without a carrier phrase")
        if len(slots) > 1:
            found.append(f"{where}: AMAZON.SearchQuery with another slot")
    return found
