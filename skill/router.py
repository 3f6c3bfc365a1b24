"""What a question in the user's own words is about: red flags first, then the topic its words name.

Alexa sends the words of a question no specific intent fits in QuestionIntent's ``query`` slot
(AMAZON.SearchQuery), without the carrier phrase: "why do my feet cramp" arrives as "do my feet
cramp". The router reads those words against ``vocabulary.json`` and names a topic, an action (the
routine, reminders) or nothing at all; it never guesses an answer it has no content for.

1. Red-flag words (red, hot, swollen, weak, numb...) always win: the urgent or see-a-doctor advice.
2. Otherwise every topic scores the words that point to it (slot values name the exact topic); the
   highest wins, ties go to the more specific topic (``router.priority``). Words for frequent or
   severe cramps add a see-a-doctor note in front of the answer, or are the answer on their own.
3. Words that name cramps but no topic get the general answer that fits the question's shape.
4. Nothing we know: the "I can tell you about..." answer.

It is pure (no state, no I/O), so CanFulfillIntentRequest asks it too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from skill.content import Content

Kind = Literal["topic", "red_flag", "routine", "reminders", "nothing"]

# Slot types whose values name a topic's exact answer, and the topic group they belong to.
TOPIC_OF_TYPE = {
    "CauseType": "causes",
    "MedicationType": "medications",
    "ConditionType": "conditions",
    "MineralType": "foods",
    "SupplementType": "supplements",
    "StretchType": "stretches",
    "SymptomType": "red_flags",
}
# Groups that have an overview and one answer per value.
GROUPS = frozenset(TOPIC_OF_TYPE.values())
# Auxiliary verbs a question starts with once Alexa drops "why" or "how come": "do my legs cramp".
_AUXILIARIES = frozenset({"do", "does", "did", "am", "is", "are", "was", "were", "can't", "won't", "would"})
_SUBJECTS = frozenset({"i", "i'm", "my", "it", "they", "these", "those", "both"})
_MAX_UNKNOWN_WORDS = 4


@dataclass(frozen=True)
class Route:
    """Where a question goes. ``target`` is a topic path ("causes.dehydration") or an action."""

    kind: Kind
    target: str = ""
    # Frequent or severe cramps were mentioned: say that a doctor is worth seeing, then answer.
    note: bool = False
    # Words we have no answer on, named before an overview ("I don't have anything on zinc yet").
    unknown: str = ""
    # For reminders: the kind the user named ("stretch", "water"), if any.
    reminder_kind: str | None = None


NOTHING = Route("nothing")


@dataclass(frozen=True)
class _Sense:
    topic: str
    weight: float
    # (slot type, value id) when the words are a slot value.
    value: tuple[str, str] | None = None


@dataclass(frozen=True)
class _Hit:
    start: int
    length: int
    senses: tuple[_Sense, ...]


@dataclass(frozen=True)
class Lexicon:
    phrases: dict[tuple[str, ...], tuple[_Sense, ...]]
    longest: int
    cramp_words: frozenset[tuple[str, ...]]
    neutral: frozenset[str]
    priority: dict[str, int]
    always: tuple[str, ...]
    note: frozenset[str]
    # symptom id -> (words before, words after) that make its one-word names a remedy or the weather
    framed: dict[str, tuple[frozenset[str], frozenset[str]]]
    modifiers: dict[str, dict[str, tuple[tuple[str, ...], ...]]]
    reminder_kinds: dict[tuple[str, ...], str]


def normalize(text: str) -> list[str]:
    """Lower-case words, apostrophes kept ("can't"), everything else a space."""
    text = text.lower().replace("\u2019", "'").replace("_", " ")
    return re.sub(r"[^a-z0-9']+", " ", text).split()


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(normalize(phrase))


@cache
def lexicon(words: Content) -> Lexicon:
    """The router's view of vocabulary.json, built once per language."""
    router: dict[str, Any] = words.get("vocabulary.router")
    weights: dict[str, float] = router["weights"]
    weak_values = set(router["weak_values"])
    senses: dict[tuple[str, ...], list[_Sense]] = defaultdict(list)
    for type_name, topic in TOPIC_OF_TYPE.items():
        weight = weights["weak_value"] if type_name in weak_values else weights["value"]
        for value_id, names in words.synonyms(type_name).items():
            for name in {_key(n) for n in (value_id, *names)}:
                senses[name].append(_Sense(topic, weight, (type_name, value_id)))
    modifiers: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {}
    for topic, lists in router["topics"].items():
        for tier in ("strong", "aspect", "weak"):
            for phrase in lists.get(tier, []):
                senses[_key(phrase)].append(_Sense(topic, weights[tier]))
        if tier_local := lists.get("local"):
            for phrase in (w for ws in tier_local.values() for w in ws):
                senses[_key(phrase)].append(_Sense(topic, weights["strong"]))
        extra = {name: tuple(_key(p) for p in ps) for name, ps in lists.items() if name not in _TIERS}
        if extra:
            modifiers[topic] = extra
    cramp_words = frozenset(_key(w) for w in router["cramp_words"])
    kinds = {_key(n): kind for kind, names in words.synonyms("ReminderKind").items() for n in (kind, *names)}
    merged = {phrase: _dedupe(found) for phrase, found in senses.items() if phrase}
    return Lexicon(
        phrases=merged,
        longest=max(len(p) for p in (*merged, *cramp_words)),
        cramp_words=cramp_words,
        neutral=frozenset(router["neutral"]),
        priority={topic: rank for rank, topic in enumerate(router["priority"])},
        always=tuple(router["symptoms"]["always"]),
        note=frozenset(router["symptoms"]["note"]),
        framed={
            symptom: (frozenset(frames["before"]), frozenset(frames["after"]))
            for symptom, frames in router["symptoms"]["framed"].items()
        },
        modifiers=modifiers,
        reminder_kinds=kinds,
    )


_TIERS = frozenset({"strong", "aspect", "weak", "local"})


def _dedupe(found: list[_Sense]) -> tuple[_Sense, ...]:
    """One sense per (topic, value): a phrase listed twice for a topic counts once, at its best."""
    best: dict[tuple[str, tuple[str, str] | None], _Sense] = {}
    for sense in found:
        key = (sense.topic, sense.value)
        if key not in best or sense.weight > best[key].weight:
            best[key] = sense
    return tuple(best.values())


def _lex(lex: Lexicon, tokens: list[str]) -> tuple[list[_Hit], list[str], bool]:
    """Longest phrases first, left to right: the hits, the words nobody knows, and whether cramps came up.

    Longest-first is what keeps "warm compress" (relief) from being read as "warm" (a red flag),
    and "the heat" (a cause) from being "heat".
    """
    hits: list[_Hit] = []
    unknown: list[str] = []
    cramps = False
    i = 0
    while i < len(tokens):
        for length in range(min(lex.longest, len(tokens) - i), 0, -1):
            phrase = tuple(tokens[i : i + length])
            if phrase in lex.phrases:
                hits.append(_Hit(i, length, lex.phrases[phrase]))
                cramps = cramps or phrase in lex.cramp_words
                i += length
                break
            if phrase in lex.cramp_words:
                cramps = True
                i += length
                break
        else:
            if tokens[i] not in lex.neutral:
                unknown.append(tokens[i])
            i += 1
    return hits, unknown, cramps


def _contains(tokens: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
    padded = f" {' '.join(tokens)} "
    return any(f" {' '.join(p)} " in padded for p in phrases)


def route(text: str | None, words: Content) -> Route:
    """The route for the words of a question (None or empty: nothing was heard)."""
    tokens = normalize(text or "")
    if not tokens:
        return NOTHING
    lex = lexicon(words)
    hits, unknown, cramps = _lex(lex, tokens)

    symptoms = [
        s.value[1]
        for h in hits
        for s in h.senses
        if s.value and s.value[0] == "SymptomType" and not _framed(lex, tokens, h, s.value[1])
    ]
    for symptom in lex.always:
        if symptom in symptoms:
            return Route("red_flag", f"red_flags.{symptom}")

    scores: dict[str, float] = defaultdict(float)
    values: dict[str, str] = {}
    for hit in hits:
        for sense in hit.senses:
            if sense.value and sense.value[0] == "SymptomType":
                continue
            scores[sense.topic] += sense.weight
            if sense.value:
                values.setdefault(sense.topic, sense.value[1])
    noted = [s for s in symptoms if s in lex.note]
    if not scores:
        if noted:
            return Route("red_flag", f"red_flags.{noted[0]}")
        if cramps:
            return Route("topic", "causes.overview" if _asks_why(tokens) else "what_is")
        return NOTHING

    topic = max(scores, key=lambda t: (scores[t], -lex.priority.get(t, len(lex.priority))))
    if topic == "red_flags":
        return Route("red_flag", f"red_flags.{noted[0]}" if noted else "red_flags.overview")
    if topic == "routine":
        start = _contains(tokens, lex.modifiers["routine"]["start"])
        return Route("routine", "start" if start else "about")
    if topic == "reminders":
        return Route("reminders", _reminder_action(lex, tokens), reminder_kind=_reminder_kind(lex, tokens))
    if topic in GROUPS:
        if topic in values:
            return Route("topic", f"{topic}.{values[topic]}", note=bool(noted))
        named = " ".join(unknown) if 0 < len(unknown) <= _MAX_UNKNOWN_WORDS else ""
        return Route("topic", f"{topic}.overview", note=bool(noted), unknown=named)
    return Route("topic", topic, note=bool(noted))


def _framed(lex: Lexicon, tokens: list[str], hit: _Hit, symptom: str) -> bool:
    """ "keep them warm", "a hot bath", "use heat": a one-word symptom name used for a remedy."""
    if symptom not in lex.framed or hit.length > 1:
        return False
    before, after = lex.framed[symptom]
    preceding = tokens[max(0, hit.start - 2) : hit.start]
    following = tokens[hit.start + 1 : hit.start + 2]
    return any(t in before for t in preceding) or any(t in after for t in following)


def _asks_why(tokens: list[str]) -> bool:
    """ "(how) come my legs cramp", "(why) do my feet cramp", "(why) am I getting cramps"."""
    if tokens[0] == "come":
        return True
    return len(tokens) > 1 and tokens[0] in _AUXILIARIES and tokens[1] in _SUBJECTS


def _reminder_action(lex: Lexicon, tokens: list[str]) -> str:
    mods = lex.modifiers["reminders"]
    if _contains(tokens, mods["cancel"]):
        return "cancel_all" if _contains(tokens, mods["all"]) else "cancel"
    if _contains(tokens, mods["move"]):
        return "move"
    if _contains(tokens, mods["list"]):
        return "list"
    return "set"


def _reminder_kind(lex: Lexicon, tokens: list[str]) -> str | None:
    for length in range(len(tokens), 0, -1):
        for i in range(len(tokens) - length + 1):
            kind = lex.reminder_kinds.get(tuple(tokens[i : i + length]))
            if kind:
                return kind
    return None
