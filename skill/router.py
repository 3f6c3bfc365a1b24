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
# A topic's word lists in vocabulary.json; any other list it has holds modifiers ("start", "cancel").
_TIERS = frozenset({"strong", "aspect", "weak", "local"})
# Answers that say nothing about how often cramps come: a frequency word is better answered itself.
_GENERAL = frozenset({"reassurance", "doctor", "what_is"})


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
    # The question's angle ("how do I prevent", "is it normal", "what causes"): counted once per topic.
    aspect: bool = False
    # (slot type, value id) when the words are a slot value.
    value: tuple[str, str] | None = None
    # A red flag that is answered first whatever else was said ("nothing helps": see a doctor).
    first: bool = False


@dataclass(frozen=True)
class _Hit:
    start: int
    length: int
    senses: tuple[_Sense, ...]


@dataclass(frozen=True)
class Lexicon:
    phrases: dict[tuple[str, ...], tuple[_Sense, ...]]
    longest: int
    # Words a phrase may have inside it and still be the phrase ("a really long walk").
    intensifiers: frozenset[str]
    # "group.value" -> phrases that pick that value once the group has won ("lying down": towel).
    hints: dict[str, tuple[tuple[str, ...], ...]]
    # group -> words that ask for the whole group ("stretches"), so no hint picks one value.
    overview_words: dict[str, tuple[tuple[str, ...], ...]]
    cramp_words: frozenset[tuple[str, ...]]
    # Things that hold a red-flag word without being one ("red wine"): not a flag, and not known.
    not_symptoms: frozenset[tuple[str, ...]]
    neutral: frozenset[str]
    priority: dict[str, int]
    always: tuple[str, ...]
    note: frozenset[str]
    # symptom id -> (words before, words after) that make its one-word names a remedy or the weather
    framed: dict[str, tuple[frozenset[str], frozenset[str]]]
    modifiers: dict[str, dict[str, tuple[tuple[str, ...], ...]]]
    reminder_kinds: dict[tuple[str, ...], str]


def normalize(text: str) -> list[str]:
    """Lower-case words, apostrophes kept ("can't"), everything else a space; "'s" reads as "is".

    Vocabulary phrases go through the same function, so "my leg's hot" meets "my leg is hot" and
    "Parkinson's" meets itself.
    """
    text = text.lower().replace("\u2019", "'").replace("_", " ")
    text = re.sub(r"'s\b", " is", text)
    return re.sub(r"[^a-z0-9']+", " ", text).split()


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(normalize(phrase))


def _expand(phrase: str, lists: dict[str, list[str]]) -> list[str]:
    """A phrase with a <list> in it ("stop my <legs> cramping"): one phrase per word of the list."""
    found = re.search(r"<(\w+)>", phrase)
    if found is None:
        return [phrase]
    head, tail = phrase[: found.start()], phrase[found.end() :]
    return [p for word in lists[found.group(1)] for p in _expand(f"{head}{word}{tail}", lists)]


@cache
def lexicon(words: Content) -> Lexicon:
    """The router's view of vocabulary.json, built once per language."""
    vocabulary: dict[str, Any] = words.get("vocabulary")
    router: dict[str, Any] = vocabulary["router"]
    lists = {
        name: [*node["words"], *(w for ws in node.get("local", {}).values() for w in ws)]
        for name, node in vocabulary["lists"].items()
    }
    weights: dict[str, float] = router["weights"]
    weak_words = {_key(w) for w in router["weak_words"]}
    value_only = {_key(w) for w in router["value_only"]}
    senses: dict[tuple[str, ...], list[_Sense]] = defaultdict(list)
    for type_name, topic in TOPIC_OF_TYPE.items():
        for value_id, names in words.synonyms(type_name).items():
            for name in {_key(n) for n in (value_id, *names)}:
                weight = (
                    0.0
                    if name in value_only
                    else weights["weak_value"]
                    if name in weak_words
                    else weights["value"]
                )
                senses[name].append(_Sense(topic, weight, value=(type_name, value_id)))
    for symptom, phrases in router["symptoms"]["first"].items():
        for phrase in phrases:
            senses[_key(phrase)].append(
                _Sense("red_flags", weights["value"], value=("SymptomType", symptom), first=True)
            )
    modifiers: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {}
    for topic, tiers in router["topics"].items():
        for tier in ("strong", "aspect", "weak"):
            for phrase in (p for raw in tiers.get(tier, []) for p in _expand(raw, lists)):
                senses[_key(phrase)].append(_Sense(topic, weights[tier], aspect=tier == "aspect"))
        for phrase in (w for ws in tiers.get("local", {}).values() for w in ws):
            senses[_key(phrase)].append(_Sense(topic, weights["strong"]))
        extra = {name: tuple(_key(p) for p in ps) for name, ps in tiers.items() if name not in _TIERS}
        if extra:
            modifiers[topic] = extra
    not_symptoms = frozenset(_key(p) for p in router["not_symptoms"])
    for phrase in (*router["neutral_phrases"], *router["not_symptoms"]):
        # Read as one phrase that means nothing: "in the middle of the night" is a time, not relief.
        senses.setdefault(_key(phrase), [])
    cramp_words = frozenset(_key(w) for w in router["cramp_words"])
    kinds = {_key(n): kind for kind, names in words.synonyms("ReminderKind").items() for n in (kind, *names)}
    merged = {phrase: _dedupe(found) for phrase, found in senses.items() if phrase}
    hints = {
        target: tuple(_key(p) for raw in phrases for p in _expand(raw, lists))
        for target, phrases in router["hints"].items()
    }
    return Lexicon(
        phrases=merged,
        longest=max(len(p) for p in (*merged, *cramp_words)),
        intensifiers=frozenset(router["intensifiers"]),
        hints=hints,
        overview_words={g: tuple(_key(w) for w in ws) for g, ws in router["overview_words"].items()},
        cramp_words=cramp_words,
        not_symptoms=not_symptoms,
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


def _dedupe(found: list[_Sense]) -> tuple[_Sense, ...]:
    """One sense per (topic, value): a phrase listed twice for a topic counts once, at its best."""
    best: dict[tuple[str, tuple[str, str] | None], _Sense] = {}
    for sense in found:
        key = (sense.topic, sense.value)
        kept = best.get(key)
        if kept is None:
            best[key] = sense
        else:
            strongest = kept if kept.weight >= sense.weight else sense
            best[key] = _Sense(
                sense.topic,
                strongest.weight,
                aspect=strongest.aspect,
                value=sense.value,
                first=kept.first or sense.first,
            )
    return tuple(best.values())


def _lex(lex: Lexicon, tokens: list[str]) -> tuple[list[_Hit], list[str], bool]:
    """Longest phrases first, left to right: the hits, the words nobody knows, and whether cramps came up.

    Longest-first is what keeps "warm compress" (relief) from being read as "warm" (a red flag),
    and "the heat" (a cause) from being "heat". An intensifier inside a phrase is passed over.
    """
    hits: list[_Hit] = []
    unknown: list[str] = []
    cramps = False
    i = 0
    while i < len(tokens):
        found = _longest(lex, tokens, i)
        if found is None:
            if tokens[i] not in lex.neutral and tokens[i] not in lex.intensifiers:
                unknown.append(tokens[i])
            i += 1
            continue
        phrase, span = found
        if phrase in lex.not_symptoms:
            unknown.extend(phrase)
        elif phrase in lex.phrases:
            hits.append(_Hit(i, span, lex.phrases[phrase]))
        cramps = cramps or phrase in lex.cramp_words
        i += span
    return hits, unknown, cramps


def _longest(lex: Lexicon, tokens: list[str], start: int) -> tuple[tuple[str, ...], int] | None:
    """The longest known phrase at ``start`` and how many tokens it covers (intensifiers included)."""
    # Words from start, intensifiers after the first left out, with where each one came from.
    kept: list[str] = []
    ends: list[int] = []
    for index in range(start, min(len(tokens), start + lex.longest * 2)):
        if index > start and tokens[index] in lex.intensifiers:
            continue
        kept.append(tokens[index])
        ends.append(index + 1)
        if len(kept) == lex.longest:
            break
    for length in range(len(kept), 0, -1):
        exact = tuple(tokens[start : start + length])
        if exact in lex.phrases or exact in lex.cramp_words:
            return exact, length
        squeezed = tuple(kept[:length])
        if squeezed in lex.phrases or squeezed in lex.cramp_words:
            return squeezed, ends[length - 1] - start
    return None


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

    heard = [
        (s.value[1], s.first)
        for h in hits
        for s in h.senses
        if s.value and s.value[0] == "SymptomType" and not _framed(lex, tokens, h, s.value[1])
    ]
    symptoms = [symptom for symptom, _ in heard]
    for symptom in lex.always:
        if symptom in symptoms:
            return Route("red_flag", f"red_flags.{symptom}")
    for symptom, first in heard:
        if first:
            return Route("red_flag", f"red_flags.{symptom}")

    scores: dict[str, float] = defaultdict(float)
    angles: dict[str, float] = defaultdict(float)
    values: dict[str, tuple[str, float]] = {}
    soft: dict[str, str] = {}
    for hit in hits:
        for sense in hit.senses:
            if sense.value and sense.value[0] == "SymptomType":
                continue
            if sense.aspect:
                angles[sense.topic] = max(angles[sense.topic], sense.weight)
            elif sense.weight:
                scores[sense.topic] += sense.weight
                # Two values of one group: the clearer word wins ("the heat" over "playing football").
                if sense.value and sense.weight > values.get(sense.topic, ("", 0.0))[1]:
                    values[sense.topic] = (sense.value[1], sense.weight)
            elif sense.value:
                # A body part: it picks a stretch like a hint does, and proves nothing on its own.
                soft.setdefault(sense.topic, sense.value[1])
    for topic_name, weight in angles.items():
        scores[topic_name] += weight
    noted = [s for s in symptoms if s in lex.note]
    if not scores:
        if noted:
            return Route("red_flag", f"red_flags.{noted[0]}")
        if cramps:
            return Route("topic", "causes.overview" if _asks_why(tokens) else "what_is")
        return NOTHING

    topic = max(scores, key=lambda t: (scores[t], -lex.priority.get(t, len(lex.priority))))
    if "frequent" in noted and topic == "relief":
        # Cramps that come every night are for preventing, not for easing one now.
        topic = "prevention"
    if noted and topic in _GENERAL:
        # "Is it normal to cramp every night?": how often is the question, and its answer.
        return Route("red_flag", f"red_flags.{noted[0]}")
    if topic == "red_flags":
        return Route("red_flag", f"red_flags.{noted[0]}" if noted else "red_flags.overview")
    if topic == "routine":
        start = _contains(tokens, lex.modifiers["routine"]["start"])
        return Route("routine", "start" if start else "about")
    if topic == "reminders":
        return Route("reminders", _reminder_action(lex, tokens), reminder_kind=_reminder_kind(lex, tokens))
    if topic in GROUPS:
        value = values[topic][0] if topic in values else _hinted(lex, tokens, topic, soft.get(topic))
        if value:
            return Route("topic", f"{topic}.{value}", note=bool(noted))
        named = " ".join(unknown) if 0 < len(unknown) <= _MAX_UNKNOWN_WORDS else ""
        return Route("topic", f"{topic}.overview", note=bool(noted), unknown=named)
    return Route("topic", topic, note=bool(noted))


def _hinted(lex: Lexicon, tokens: list[str], group: str, soft: str | None) -> str | None:
    """A value the words describe without naming it ("the stretch I can do lying down": towel)."""
    if _contains(tokens, lex.overview_words.get(group, ())):
        return None
    if soft:
        return soft
    for target, phrases in lex.hints.items():
        if target.startswith(f"{group}.") and _contains(tokens, phrases):
            return target.split(".", 1)[1]
    return None


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
    # A break first: "stop them for a week" is a pause, "don't remind me tonight" a skip.
    for action in ("resume", "pause", "skip"):
        if _contains(tokens, mods[action]):
            return action
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
