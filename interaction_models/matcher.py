"""Which intent and slots a typed phrase resolves to, decided the way the virtual-alexa simulator does.

Standard library only, so anything can use it: the model tests, the command line, and a page that
shows what a phrase resolves to. The rules are those of virtual-alexa 0.7.8 (its virtual-core
``Utterance``), which the end-to-end tests drive the skill with:

- the phrase loses the punctuation ``! " ¿ ? | # $ % / ( ) = + - _ < > * { } · ¡ [ ] . , ; :``;
- each sample is a pattern, whole-phrase and case-insensitive, in which a ``{slot}`` is ``(.*)``
  and the literal words on each side of a slot are trimmed ("at {time} {days}" is "at(.*)(.*)");
  a period in a sample matches any character, as it does there;
- a slot's words must be set off from the literal words by a space (or be the whole phrase);
- a custom slot must be one of its type's values or synonyms, exactly (case aside); a built-in
  slot (AMAZON.TIME, AMAZON.SearchQuery...) takes anything, even nothing;
- the score is the matched length minus the slot values' length (custom values trimmed, built-in
  ones as captured), so the sample with more literal words wins; then the one with more custom
  slots; then the first, in model order;
- the built-in intents a model declares also answer Amazon's own short phrases ("help", "stop",
  "yes"...), and with AMAZON.PauseIntent and ResumeIntent the audio-player intents join in.

    python -m interaction_models.matcher en-US "why do my feet cramp at night"
"""

from __future__ import annotations

import heapq
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PUNCTUATION = re.compile(r"[!\"¿?|#$%/()=+\-_<>*{}·¡\[\].,;:]")
_SLOT = re.compile(r"\{([^{}]*)\}")

# Amazon's phrases for its built-in intents, as the simulator adds them.
BUILT_IN_PHRASES: dict[str, tuple[str, ...]] = {
    "AMAZON.CancelIntent": ("cancel", "never mind"),
    "AMAZON.HelpIntent": ("help", "help me"),
    "AMAZON.LoopOffIntent": ("loop off",),
    "AMAZON.LoopOnIntent": ("loop", "loop on", "keep repeating this song"),
    "AMAZON.MoreIntent": ("more",),
    "AMAZON.NavigateHomeIntent": ("home", "go home"),
    "AMAZON.NavigateSettingsIntent": ("settings",),
    "AMAZON.NextIntent": ("next", "skip", "skip forward"),
    "AMAZON.NoIntent": ("no", "no thanks"),
    "AMAZON.PageDownIntent": ("page down",),
    "AMAZON.PageUpIntent": ("page up",),
    "AMAZON.PauseIntent": ("pause", "pause that"),
    "AMAZON.PreviousIntent": ("go back", "previous", "skip back", "back up"),
    "AMAZON.RepeatIntent": ("repeat", "say that again", "repeat that"),
    "AMAZON.ResumeIntent": ("resume", "continue", "keep going"),
    "AMAZON.ScrollDownIntent": ("scroll down",),
    "AMAZON.ScrollLeftIntent": ("scroll left",),
    "AMAZON.ScrollRightIntent": ("scroll right",),
    "AMAZON.ScrollUpIntent": ("scroll up",),
    "AMAZON.ShuffleOffIntent": ("shuffle off", "stop shuffling", "turn off shuffle"),
    "AMAZON.ShuffleOnIntent": ("shuffle", "shuffle on", "shuffle the music", "shuffle mode"),
    "AMAZON.StartOverIntent": ("start over", "restart", "start again"),
    "AMAZON.StopIntent": ("stop", "off", "shut up"),
    "AMAZON.YesIntent": ("yes", "yes please", "sure"),
}
AUDIO_PLAYER_INTENTS = (
    "AMAZON.PauseIntent",
    "AMAZON.ResumeIntent",
    "AMAZON.CancelIntent",
    "AMAZON.LoopOffIntent",
    "AMAZON.LoopOnIntent",
    "AMAZON.NextIntent",
    "AMAZON.PreviousIntent",
    "AMAZON.RepeatIntent",
    "AMAZON.ShuffleOffIntent",
    "AMAZON.ShuffleOnIntent",
    "AMAZON.StartOverIntent",
)


@dataclass(frozen=True)
class Match:
    intent: str
    sample: str
    # slot name -> the words heard (trimmed), and the value id for custom slots that resolved.
    slots: dict[str, str]
    resolved: dict[str, str]
    score: int
    typed_slots: int

    def as_json(self) -> dict[str, Any]:
        return {"intent": self.intent, "sample": self.sample, "slots": self.slots, "resolved": self.resolved}


@dataclass(frozen=True)
class _Sample:
    intent: str
    text: str
    pattern: re.Pattern[str]
    prefix: str
    # (slot name, slot type) in the order the slots appear
    slots: tuple[tuple[str, str], ...]


@dataclass
class _SlotType:
    # lower-case value or synonym -> value id (the first value listing it wins, as in the simulator)
    words: dict[str, str] = field(default_factory=dict)


def clean(phrase: str) -> str:
    """The phrase as the simulator reads it: the listed punctuation removed, nothing else changed."""
    return _PUNCTUATION.sub("", phrase)


def _pattern(sample: str) -> tuple[re.Pattern[str], str]:
    """The sample as an anchored, case-insensitive pattern, and its literal start (for a quick check)."""
    pieces: list[str] = []
    rest = sample
    while (found := _SLOT.search(rest)) is not None:
        pieces.append(rest[: found.start()])
        rest = rest[found.end() :]
    pieces.append(rest)
    # The simulator trims the literal text on both sides of every slot.
    trimmed = [pieces[0].rstrip() if len(pieces) > 1 else pieces[0]]
    for index, piece in enumerate(pieces[1:], start=1):
        last = index == len(pieces) - 1
        trimmed.append(piece.strip() if not last else piece.lstrip())
    literal = [re.escape(p).replace(r"\.", ".") for p in trimmed]
    # The quick check stops at the first period, which matches any character.
    return re.compile("^" + "(.*)".join(literal) + "$", re.IGNORECASE), trimmed[0].lower().split(".")[0]


class Matcher:
    """An interaction model, ready to resolve phrases."""

    def __init__(self, model: Mapping[str, Any], *, built_in_phrases: bool = True) -> None:
        language = model["interactionModel"]["languageModel"] if "interactionModel" in model else model
        self.types: dict[str, _SlotType] = {}
        for slot_type in language.get("types", []):
            words = _SlotType()
            for value in slot_type.get("values", []):
                for word in (value["name"]["value"], *value["name"].get("synonyms", [])):
                    words.words.setdefault(word.strip().lower(), value["id"])
            self.types[slot_type["name"].lower()] = words
        declared = {intent["name"]: intent for intent in language["intents"]}
        order = list(declared)
        extra: dict[str, list[str]] = {}
        if built_in_phrases:
            audio = "AMAZON.PauseIntent" in declared and "AMAZON.ResumeIntent" in declared
            for name, phrases in BUILT_IN_PHRASES.items():
                if name in declared or (audio and name in AUDIO_PLAYER_INTENTS):
                    extra[name] = list(phrases)
                    if name not in declared:
                        order.append(name)
        self.samples: list[_Sample] = []
        # Samples by the first word of their literal start; a match needs the phrase to start with
        # it (the slot after it must be set off by a space). Samples that start with a slot: always.
        self._by_first_word: dict[str, list[int]] = defaultdict(list)
        self._open: list[int] = []
        for name in order:
            intent = declared.get(name, {"name": name})
            slot_types = {slot["name"]: slot["type"] for slot in intent.get("slots", [])}
            for text in [*intent.get("samples", []), *extra.get(name, [])]:
                pattern, prefix = _pattern(text)
                names = _SLOT.findall(text)
                missing = [n for n in names if n not in slot_types]
                if missing:
                    raise ValueError(f"{name}: sample {text!r} names undeclared slots {missing}")
                first = prefix.split()
                (self._by_first_word[first[0]] if first else self._open).append(len(self.samples))
                self.samples.append(
                    _Sample(name, text, pattern, prefix, tuple((n, slot_types[n]) for n in names))
                )

    def candidates(self, phrase: str) -> Iterator[Match]:
        """Every sample the phrase matches, in model order."""
        cleaned = clean(phrase)
        lowered = cleaned.lower()
        words = lowered.split()
        indexed = self._by_first_word.get(words[0], []) if words else []
        for index in heapq.merge(indexed, self._open):
            sample = self.samples[index]
            if not lowered.startswith(sample.prefix):
                continue
            found = sample.pattern.match(cleaned)
            if found is None:
                continue
            match = self._check_slots(sample, cleaned, found.groups())
            if match is not None:
                yield match

    def match(self, phrase: str) -> Match | None:
        """The sample the simulator picks for the phrase, or None (it would refuse the phrase)."""
        return best(self.candidates(phrase))

    def _check_slots(self, sample: _Sample, whole: str, values: Sequence[str]) -> Match | None:
        slots: dict[str, str] = {}
        resolved: dict[str, str] = {}
        scored = 0
        typed = 0
        for (name, type_name), value in zip(sample.slots, values, strict=True):
            if value != whole and value.strip() and not value.startswith(" ") and not value.endswith(" "):
                return None
            custom = self.types.get(type_name.lower())
            if custom is None:
                # A built-in type: any words at all, counted as captured.
                scored += len(value)
            else:
                value_id = custom.words.get(value.strip().lower())
                if value_id is None:
                    return None
                resolved[name] = value_id
                scored += len(value.strip())
                typed += 1
            slots[name] = value.strip()
        return Match(sample.intent, sample.text, slots, resolved, len(whole) - scored, typed)


def best(candidates: Iterable[Match]) -> Match | None:
    """The simulator's pick among matching samples (given in model order)."""
    chosen: Match | None = None
    for match in candidates:
        # A strictly better score, or the same score with more custom slots: the first one stays.
        if chosen is None or (match.score, match.typed_slots) > (chosen.score, chosen.typed_slots):
            chosen = match
    return chosen


def load(path: Path | str) -> Matcher:
    return Matcher(json.loads(Path(path).read_text(encoding="utf-8")))


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m interaction_models.matcher LOCALE PHRASE...", file=sys.stderr)
        return 2
    matcher = load(Path(__file__).resolve().parent / f"{argv[0]}.json")
    for phrase in argv[1:]:
        found = matcher.match(phrase)
        print(json.dumps({"phrase": phrase, "match": found.as_json() if found else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
