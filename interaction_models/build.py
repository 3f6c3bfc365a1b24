"""Writes the five Alexa interaction models (en-US, en-GB, en-CA, en-AU, en-IN) from one definition.

The committed JSON files are what gets uploaded to Alexa; this module is their single source.
Intents, slots, slot types and value ids are the same in every locale (docs/intents.md is the
contract); locales differ only in the words people use there ("trainers", "tablets", "G. P.").

Two inputs:
- the vocabulary, ``skill/content/en/vocabulary.json``: the slot types (values, synonyms, locale-only
  words) and the word lists the grammar draws on. The running skill reads the same file to match
  what was heard, so the models and the handlers cannot disagree about a word.
- the grammar below: each intent's samples as templates (carrier phrases x subjects x tails, see
  ``grammar.py``), expanded in a fixed order, with a cap where a product grows large.

Every model must stay inside Alexa's limits (``limits.py``); nothing is written otherwise.

    python -m interaction_models.build           # rewrite the five files
    python -m interaction_models.build --check   # exit 1 if a committed file is out of date
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from interaction_models import limits
from interaction_models.grammar import Template, expand, expand_all

HERE = Path(__file__).resolve().parent
VOCABULARY = HERE.parent / "skill" / "content" / "en" / "vocabulary.json"
INVOCATION_NAME = "cramp coach"
LOCALES = ("en-US", "en-GB", "en-CA", "en-AU", "en-IN")

T = Template
SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Intent:
    name: str
    slots: tuple[tuple[str, str], ...] = ()
    samples: tuple[Template | str, ...] = ()
    # Utterances Alexa uses while eliciting one slot (dialog model), by slot name.
    slot_samples: dict[str, tuple[str, ...]] = field(default_factory=dict)


# --- The vocabulary -----------------------------------------------------------------------------


@cache
def vocabulary() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    return data


def _local_words(node: dict[str, Any], locale: str) -> list[str]:
    """The words of ``node["local"]`` meant for ``locale`` (keys are locale groups or locales)."""
    groups: dict[str, list[str]] = vocabulary()["locale_groups"]
    words: list[str] = []
    for key, extra in node.get("local", {}).items():
        if locale == key or locale in groups.get(key, ()):
            words.extend(extra)
    return words


def word_lists(locale: str) -> dict[str, list[str]]:
    """The grammar's <lists> for one locale."""
    return {
        name: [*node["words"], *_local_words(node, locale)] for name, node in vocabulary()["lists"].items()
    }


def slot_types(locale: str) -> dict[str, list[tuple[str, str, list[str]]]]:
    """type name -> (value id, name, synonyms) for one locale."""
    return {
        type_name: [
            (value_id, value["name"], [*value.get("synonyms", []), *_local_words(value, locale)])
            for value_id, value in values.items()
        ]
        for type_name, values in vocabulary()["slot_types"].items()
    }


# --- The grammar --------------------------------------------------------------------------------
# Wording slots (vocabulary.json "wording") carry the words that vary inside a question: {cramps}
# "leg cramps, night cramps at night...", {cramp} "a cramp, a charley horse...", {legs} "calves,
# feet...", {leg} "calf, foot...", {night} "at night, in bed...", {doctor}, {footwear}, {routine}
# "my bedtime routine, the stretches...", {reminder}, {reminders}. The handlers ignore them. So every
# sample of our own intents holds a slot, and people's own phrasings are matched, never listed.
# Agreement is the template's job: {legs} take "do", {leg} takes "does".

QUESTION_INTENTS: tuple[Intent, ...] = (
    Intent(
        "WhatIsCrampIntent",
        samples=(
            T("(what is|what's|what exactly is) {cramp}"),
            T("what (are|exactly are) {cramps}"),
            T("(tell me about|explain|describe|teach me about|I want to know about) {cramps}"),
            T("(what happens|what is happening|what's happening) (during|in) {cramp}"),
            T("what (happens|exactly happens|actually happens|is going on) when (my|your|a) {leg} cramps"),
            T("what happens when my {legs} cramp"),
            T("how long (do|can) {cramps} last"),
            T("how long (does|can) {cramp} last"),
            T("what does {cramp} feel like"),
            T("what do {cramps} feel like"),
            T("(cramps|cramping|muscle cramps|night cramps) in my {legs}"),
            T("(a cramp|cramping|a spasm) in my {leg}"),
            T("what (is|are) (cramps|cramping) in my {legs}"),
            T("(is it|is this) {cramp}"),
        ),
    ),
    Intent(
        "RestlessLegsIntent",
        samples=(
            T("(is it|is this|could it be|could this be|do I have|have I got|maybe I have) restless {legs}"),
            T("(what is|what's|tell me about|explain) restless {legs} [syndrome]"),
            T("what's the difference between {cramps} and restless legs"),
            T("what is the difference between ({cramps}|{cramp}) and restless legs"),
            T("how (are|do) {cramps} (different from|differ from) restless legs"),
            T("(are|is) ({cramps}|{cramp}) the same as restless legs"),
            T("(cramps|leg cramps|night cramps) or restless {legs}"),
            T("my {legs} (feel like they need to move|feel crawly|won't keep still|feel restless) [{night}]"),
            T(
                "I (have|get|feel) (an urge|the urge|a need) to move my {legs} [at night|in bed|when I lie "
                "down]"
            ),
            T("I can't keep my {legs} still [{night}]"),
            T("my {legs} (feel|are) (restless|jumpy|fidgety|twitchy) [{night}]"),
            T("(I have|I've got|I get) a crawling feeling in my {legs} [at night|in bed|when I lie down]"),
        ),
    ),
    Intent(
        "ReassuranceIntent",
        samples=(
            T("are {cramps} (dangerous|serious|harmful|a bad sign|bad for you)"),
            T("can {cramps} be (dangerous|serious|harmful)"),
            T("are {cramps} (normal|harmless|anything to worry about|something to worry about|common)"),
            T("is it (normal|dangerous|serious|bad|okay) to (get|have) {cramps}"),
            T("(is it okay|is it fine|is it safe) to (ignore|live with) {cramps}"),
            T("should I be (worried|concerned|scared|alarmed) about {cramps}"),
            T("do I need to worry about {cramps}"),
            T("(do I just have to|should I just) (live with|put up with|ignore) {cramps}"),
            T("are {cramps} just (part of life|part of getting older|something you live with)"),
            T("are my {cramps} (serious|dangerous|normal|something serious|a sign of something serious)"),
            T("are {cramps} a sign of something (serious|bad|wrong)"),
            T("is it bad that I get {cramps}"),
        ),
    ),
    Intent(
        "CausesIntent",
        slots=(("cause", "CauseType"),),
        samples=(
            T(
                "why do my {legs} (cramp|cramp up|keep cramping|tighten up|seize up|lock up|get cramps) "
                "[{night}]"
            ),
            T(
                "why does my {leg} (cramp|cramp up|keep cramping|tighten up|seize up|lock up|get cramps) "
                "[{night}]"
            ),
            T("why do I (get|keep getting|always get|suddenly get|have) {cramps}"),
            T("why do I (get|keep getting) (cramps|cramping) in my {legs} [at night]"),
            T("why am I (getting|having) {cramps}"),
            T("why (is|are) my {legs} cramping [{night}]"),
            T(
                "(what causes|what triggers|what brings on|what can cause|what could cause|"
                "what's causing|what is causing) {cramps}"
            ),
            T("(what causes|what triggers|what's causing) (cramps|cramping) in my {legs} [at night]"),
            T("what (makes|is making) my {legs} cramp [{night}]"),
            T("what makes my {leg} cramp [{night}]"),
            T("how come my {legs} (cramp|keep cramping) [{night}]"),
            T("how come I (get|keep getting) {cramps}"),
            T("what are the [common|main|usual|possible] causes of {cramps}"),
            T("(can|could|does|do|will) {cause} (cause|trigger|give me|bring on|lead to) {cramps}"),
            T("(is|are|could) {cause} (causing|behind|the cause of|to blame for|the reason for) my {cramps}"),
            T("(could|might) {cause} be (causing|behind|the cause of) my {cramps}"),
            T("are my {cramps} (from|because of|caused by|due to) {cause}"),
            T("could my {cramps} be (from|caused by|due to) {cause}"),
            T("(do|can) I get {cramps} (from|because of) {cause}"),
            T("I get {cramps} (after|from) {cause}"),
            T("(cramps|leg cramps|night cramps|calf cramps) (from|after|because of|due to) {cause}"),
            T("is it (because of|from|due to) {cause}"),
            T("(how|why) does {cause} cause cramps"),
            T("(can|could|does) {cause} make my {legs} cramp"),
            T("does {cause} make (cramps|my cramps) worse"),
            T("tell me about {cause} as a cause"),
        ),
    ),
    Intent(
        "MedicationIntent",
        slots=(("medication", "MedicationType"),),
        samples=(
            T(
                "(what|which) (medicines|medications|drugs|pills|prescriptions|meds) (cause|can cause|give "
                "you|are linked to) {cramps}"
            ),
            T("can my (medicine|medication|pills|prescription|meds|tablets) (cause|give me) {cramps}"),
            T("(could|is) my (medicine|medication) (be causing|causing) my {cramps}"),
            T("(could|are) my (pills|meds|tablets) (be causing|causing) my {cramps}"),
            T("(medicines|medications|drugs) that cause {cramps}"),
            T("(can|does|do|could|will) {medication} (cause|give me|trigger|give you|lead to) {cramps}"),
            T("(is|are|could) {medication} (causing|behind|giving me) my {cramps}"),
            T(
                "(I take|I'm taking|I'm on|I am on|I just started|I started|I've started|I just started "
                "taking|"
                "I've been taking) {medication} [and (I get|now I get|I'm getting|I keep getting) {cramps}]"
            ),
            T("(side effects of|cramps as a side effect of) {medication}"),
            T("(are|is) {cramps} a side effect of {medication}"),
            T("(do|does) {medication} have side effects like cramps"),
            T("should I stop [taking] {medication}"),
            T("{medication} and {cramps}"),
        ),
    ),
    Intent(
        "ConditionIntent",
        slots=(("condition", "ConditionType"),),
        samples=(
            T(
                "(what|which) (conditions|diseases|illnesses|health conditions|health problems|medical "
                "conditions) (cause|can cause|are linked to) {cramps}"
            ),
            T("are {cramps} a sign of (a health problem|an illness|a disease|a medical condition)"),
            T("(can|could|does|do|will) {condition} (cause|trigger|give you|lead to) {cramps}"),
            T("are [my] {cramps} a sign of {condition}"),
            T("could [my] {cramps} be a sign of {condition}"),
            T("(could|do) [my] {cramps} mean [I have] {condition}"),
            T("(I have|I've got) {condition} [and (I get|I keep getting|I'm getting) {cramps}]"),
            T("I have {condition} and {cramps}"),
            T("(cramps|leg cramps|night cramps) and {condition}"),
            T("is there a link between {cramps} and {condition}"),
            T("does having {condition} cause {cramps}"),
        ),
    ),
    Intent(
        "PreventionIntent",
        samples=(
            T("how (can|do|should) I (prevent|avoid|stop getting|stop) {cramps}"),
            T("how to (prevent|avoid|stop) {cramps}"),
            T("what can I do to (prevent|avoid|stop) {cramps}"),
            T("(what helps|what can help|what will help) (prevent|with|stop) {cramps}"),
            T(
                "(give me|any|what are some|I need) (tips|advice|ideas) (to prevent|for preventing|for "
                "avoiding|on stopping) {cramps}"
            ),
            T("how do I keep my {legs} from cramping [{night}]"),
            T("what should I do before bed (to avoid|to prevent|so I don't get) {cramps}"),
            T("how can I sleep without [getting] {cramps}"),
            T("how do I get rid of {cramps} for good"),
            T("is there a way to (prevent|stop) {cramps}"),
            T(
                "(does|will|would) (keeping my legs warm|drinking more water|staying hydrated|a light "
                "blanket) help [with] {cramps}"
            ),
            T("what can I do tonight to avoid {cramps}"),
        ),
    ),
    Intent(
        "FoodsIntent",
        slots=(("mineral", "MineralType"),),
        samples=(
            T("(what|which) foods (help|are good for|prevent|help with|are best for) {cramps}"),
            T("what should I eat (for|to prevent|to avoid) {cramps}"),
            T("what to eat for {cramps}"),
            T("is there a diet for {cramps}"),
            T("(do|can|will) (bananas|spinach|nuts|avocados) help [with] {cramps}"),
            T("are (bananas|nuts|avocados) good for {cramps}"),
            T("what foods have {mineral}"),
            T("(what|which) foods (are high in|contain|are rich in|give me) {mineral}"),
            T("(foods|food) (rich in|high in|with|full of) {mineral}"),
            T("what should I eat (for|to get more|to get) {mineral}"),
            T("where (do|can) I get {mineral} from [food|my diet]"),
            T("how (do|can) I get more {mineral} (from food|from my diet|in my diet|naturally)"),
            T("(what are|what's a) good (sources|source) of {mineral}"),
            T("what has {mineral} in it"),
        ),
    ),
    Intent(
        "SupplementsIntent",
        slots=(("supplement", "SupplementType"),),
        samples=(
            T("should I take (a supplement|supplements|vitamins) for {cramps}"),
            T("(what|which) (supplements|vitamins) (help|help with|are good for|work for) {cramps}"),
            T("(do|can) (supplements|vitamins) help [with] {cramps}"),
            T("are supplements good for {cramps}"),
            T("what supplement should I take for {cramps}"),
            T("(should|can|could) I (take|try|use) {supplement} [for {cramps}]"),
            T("(does|do|will|can) {supplement} help (with {cramps}|my {cramps}|{cramps})"),
            T("is {supplement} good for {cramps}"),
            T("is it (safe|okay) to take {supplement}"),
            T("how much {supplement} (should|can|do) I take"),
            T("(what dose of|what's the dose for|what is the dose for) {supplement}"),
            T("when should I take {supplement}"),
            T("is {supplement} worth taking"),
            T("{supplement} for {cramps}"),
        ),
    ),
    Intent(
        "ReliefIntent",
        samples=(
            T("(I have|I've got|I got|I'm having|I am having) {cramp} [right now]"),
            T("my {leg} is cramping [up] [right now]"),
            T("my {leg}'s cramping [up] [right now]"),
            T("my {legs} are cramping [right now]"),
            T("help my {leg} is cramping"),
            T("(I woke up|I just woke up|I've woken up) with {cramp}"),
            T("how (do|can) I (stop|relieve|ease|get rid of) {cramp} [right now|fast|quickly]"),
            T("how do I make {cramp} stop"),
            T("what (do|should) I do (when I get|during|if I get|when I have) {cramp}"),
            T("what helps {cramp} [right now]"),
            T("my {leg} is (sore|still sore|aching) after {cramp}"),
            T(
                "(does|do|will|would|can) (massage|a massage|rubbing it|heat|a warm compress|a heating "
                "pad|a hot water bottle|a warm bath|stretching it) help {cramp}"
            ),
            T("should I (massage|stretch|rub) my {leg}"),
        ),
    ),
    Intent(
        "ShoesActivityIntent",
        samples=(
            T("(what|which) {footwear} should I wear"),
            T("(what|which) {footwear} (are best|help with cramps|are good for cramps|should I buy)"),
            T("should I wear {footwear} [for cramps]"),
            T("do {footwear} (matter|make a difference|help) [for cramps]"),
            T(
                "does (footwear|arch support|what I wear on my feet) (matter|help|make a difference) for "
                "{cramps}"
            ),
            T("what footwear is best for {cramps}"),
            T(
                "(does|do|will|can) (exercise|exercising|walking|running|working out|being "
                "active|swimming|cycling) help [with] {cramps}"
            ),
            T("is (exercise|running|walking|working out) (good|bad) for {cramps}"),
            T(
                "should I (exercise more|walk more|work out less|stop running|stop exercising|be more "
                "active|exercise less) because of {cramps}"
            ),
            T("how (much|often) should I exercise (with|if I get) {cramps}"),
            T("can I still (work out|exercise|run) with {cramps}"),
            T("how do I exercise without getting {cramps}"),
        ),
    ),
    Intent(
        "DoctorIntent",
        samples=(
            T(
                "when should I (see|call|talk to|go to|visit) {doctor} [about (my cramps|my leg "
                "cramps|these cramps)]"
            ),
            T(
                "should I (see|call|talk to|go to) {doctor} [about (my cramps|my leg cramps|these "
                "cramps|this)]"
            ),
            T("do I need [to see] {doctor}"),
            T("when (do|should) I need to see {doctor}"),
            T("when to see {doctor} [for {cramps}]"),
            T("what should I (tell|ask|say to) {doctor}"),
            T("is it time to see {doctor}"),
            T("when should I worry about {cramps}"),
            T("when are {cramps} (serious|a problem|worth seeing a doctor)"),
            T("should I (get|have) my {cramps} (looked at|checked|checked out)"),
            T("(at what point|when) should I (see|go to) {doctor}"),
        ),
    ),
    Intent(
        "RedFlagIntent",
        slots=(("symptom", "SymptomType"),),
        samples=(
            T("my {leg} (is|feels|looks|has gone|has turned|got) {symptom}"),
            T("my {legs} (are|feel|look) {symptom}"),
            T("my {leg} is {symptom} and (it hurts|painful|sore)"),
            T("my {leg} is {symptom} after (a|the) cramp"),
            T("(I have|I've got|there's|I feel) {symptom} in my {leg}"),
            T("(I have|I've got|I get) {symptom} in my {legs}"),
            T("my {cramps} are {symptom}"),
            T("I get (cramps|leg cramps|night cramps|calf cramps|foot cramps) {symptom}"),
            T("(what if|what does it mean if|is it bad if) my {leg} is {symptom}"),
            T("(could it be|could this be|do I have|is it|is this) a blood clot in my {leg}"),
            T("is the pain in my {leg} a blood clot"),
            T("what are the (signs|symptoms|warning signs) of a blood clot in (the|my|your) {leg}"),
            T("what are the (warning signs|red flags|danger signs) with {cramps}"),
            T("when is (pain|swelling) in my {leg} an emergency"),
        ),
    ),
    Intent(
        "StretchIntent",
        slots=(("stretch", "StretchType"),),
        samples=(
            T("(what|which) stretches (help|help with|are best for|are good for|work for) {cramps}"),
            T("(what|which) stretches (help|should I do|are best|work|are good) {night}"),
            T("what are the (bedtime stretches|best stretches) for {cramps}"),
            T("are there (stretches|any stretches) for {cramps}"),
            T("(does|do|will|can) stretching help [with] {cramps}"),
            # Not {legs}: calves and hamstrings name a stretch ({stretch}), the rest do not.
            T("how (do|should|can) I stretch my (legs|feet|thighs|toes|leg muscles|muscles) {night}"),
            T("how (do|should|can) I stretch {stretch}"),
            T("what's the (best|right) stretch for {stretch}"),
            T("(explain|describe) the stretches for {cramps}"),
            T("how (do|should) I do (the|a) {stretch}"),
            T("how to do (the|a) {stretch}"),
            T("(explain|describe|show me|teach me|tell me about) the {stretch}"),
            T("(what is|what's) (the|a) {stretch}"),
            T("how long (do|should) I hold the {stretch}"),
        ),
    ),
)

ROUTINE_INTENTS: tuple[Intent, ...] = (
    Intent(
        "StartRoutineIntent",
        samples=(
            T("(start|begin|run|do) {routine} [now|tonight]"),
            T("(walk|guide|take|lead|talk|coach) me through {routine}"),
            T(
                "(walk|guide|take|talk) me through {routine} (for cramps|to stop cramps|to prevent "
                "cramps|before bed|tonight)"
            ),
            T("help me (do|with|through) {routine} [before bed|tonight]"),
            T("(let's|let us) (do|start) {routine}"),
            T("(give me|I want|I need|I'd like) {routine}"),
            T("I want to do {routine}"),
            T("(can|could) (we|you) do {routine} [with me]"),
            T("do {routine} with me"),
            T("run [me] through {routine}"),
        ),
    ),
)

# "How am I doing?": the nights the routine was finished ({doing} "doing, getting on, going with the
# stretches...", {progress} "my streak, my record...").
HABIT_INTENTS: tuple[Intent, ...] = (
    Intent(
        "ProgressIntent",
        samples=(
            T("how am I {doing}"),
            T("how have I been {doing}"),
            T("(what's|what is|tell me|give me|show me|check|how's|how is) {progress}"),
            T("how's {progress} (looking|going)"),
            T(
                "how many nights (have I done|did I do|have I finished|did I finish|in a row have I done) "
                "{routine} [this week|lately|so far|in a row]"
            ),
            T("(have I been|am I) keeping up (with|on) {routine}"),
            T("(did I|have I) (do|done|finish|finished) {routine} (last night|this week|every night|lately)"),
            T("how (is|has) {routine} (going|been going)"),
        ),
    ),
)

ASK = "[please|can you|could you|will you|would you|I'd like you to|I want you to|I need you to]"

REMINDER_INTENTS: tuple[Intent, ...] = (
    Intent(
        "SetReminderIntent",
        slots=(
            ("kind", "ReminderKind"),
            ("time", "AMAZON.TIME"),
            ("timeTwo", "AMAZON.TIME"),
            ("timeThree", "AMAZON.TIME"),
            ("days", "DayType"),
            ("dayTwo", "DayType"),
        ),
        samples=(
            T("(set|set up|create|add|make|schedule) (a|me a|an) {reminder}"),
            T("(I want|I'd like|I need) (a|an) {reminder}"),
            T("set a {reminder} (for|at) {time}"),
            T("set a {reminder} for {time} {days}"),
            T("(set|set up|create|add|make) a {kind} reminder"),
            T("set (a|up a) {reminder} (for|to) {kind}"),
            T("set a {kind} reminder (for|at) {time}"),
            T("set a {kind} reminder for {time} [on] {days}"),
            T("set a {kind} reminder for {time} and {timeTwo}"),
            T("set a {kind} reminder for {days} [and {dayTwo}] at {time}"),
            T("set a {kind} reminder (for|at) {time} (on|every) {days}"),
            T("set (a|up a) {reminder} to {kind} [at {time}]"),
            T(ASK + " remind me to {kind}"),
            T("remind me to {kind} {days}"),
            # The same with the days as words: the simulator cannot split two slots side by side.
            T(
                "[please|can you] remind me to {kind} (every night|each night|every evening|every "
                "day|nightly|daily)"
            ),
            T("remind me to {kind} (every night|each night|every evening|every day|nightly) at {time}"),
            T(ASK + " remind me to {kind} at {time}"),
            T(ASK + " remind me to {kind} (on|every|at) {days} [at {time}]"),
            T(ASK + " remind me to {kind} at {time} (on|every|at) {days}"),
            T("remind me at {time}"),
            T("remind me to {kind} at {time} [on] {days}"),
            T("remind me to {kind} at {time} on {days} and {dayTwo}"),
            T("remind me to {kind} on {days} and {dayTwo} at {time}"),
            T("remind me to {kind} [on] {days} at {time}"),
            T("remind me to {kind} at {time} and {timeTwo} [{days}|on {days}]"),
            T("remind me to {kind} at {time} [and] {timeTwo} and {timeThree}"),
            T("remind me at {time} to {kind}"),
            T("remind me [at {time}] {days} to {kind}"),
            T("remind me {days} at {time} to {kind}"),
            T("(I want|I'd like) to be reminded to {kind} [at {time}]"),
            T("(I want|I'd like) a {kind} reminder [at {time}]"),
            T("nudge me [every night|each night] to {kind}"),
        ),
        slot_samples={
            "kind": ("{kind}", "to {kind}", "a {kind} reminder", "the {kind} one"),
            "time": ("{time}", "at {time}", "{time} please", "make it {time}"),
            "days": ("{days}", "on {days}", "{days} and {dayTwo}"),
        },
    ),
    Intent(
        "ListRemindersIntent",
        samples=(
            T("(what are|list|read|read out|read me|check|show|tell me|show me|go through|say) {reminders}"),
            T("(what|which) {reminders} (do I have|have I set|are set|are on|have I got|did I set)"),
            T("(do I have|have I got|are there) any {reminders}"),
            T("when are {reminders}"),
            T("what time (is|are) my (stretch|water|stretching|bedtime) {reminders}"),
        ),
    ),
    Intent(
        "MoveReminderIntent",
        slots=(("kind", "ReminderKind"), ("fromTime", "AMAZON.TIME"), ("time", "AMAZON.TIME")),
        samples=(
            T("(move|change|reschedule) {reminders}"),
            T("change the time of {reminders} [to {time}]"),
            T("(move|change) {reminders} to {time}"),
            T("(change|move) {reminders} time"),
            T("(move|change|reschedule) my {kind} reminder"),
            T("(move|change|reschedule|push|shift) my {kind} reminder [back|forward] to {time}"),
            T("make my {kind} reminder {time}"),
            T("change the time of my {kind} reminder [to {time}]"),
            T("(move|change) my {kind} reminder from {fromTime} to {time}"),
            T("move the {kind} reminder at {fromTime} to {time}"),
            T("(move|change) {reminders} from {fromTime} to {time}"),
            T("move the one at {fromTime} [to {time}]"),
        ),
        slot_samples={
            "kind": ("{kind}", "my {kind} reminder", "the {kind} reminder"),
            "fromTime": ("the one at {fromTime}", "{fromTime}"),
            "time": ("{time}", "to {time}", "make it {time}"),
        },
    ),
    Intent(
        "CancelReminderIntent",
        slots=(("kind", "ReminderKind"),),
        samples=(
            T("(cancel|delete|remove) (a|one|one of) {reminders}"),
            T(
                "(cancel|delete|remove|stop|turn off|switch off|get rid of) (my|the) {kind} "
                "(reminder|reminders)"
            ),
            T("stop reminding me to {kind}"),
            T("I don't want (the|my) {kind} reminder [anymore]"),
            T("no more {kind} reminders"),
            T("cancel the reminder to {kind}"),
        ),
        slot_samples={"kind": ("{kind}", "my {kind} reminder", "the {kind} reminder")},
    ),
    Intent(
        "CancelAllRemindersIntent",
        samples=(
            T("(cancel|delete|remove|turn off|switch off|stop|clear|get rid of) all [of] {reminders}"),
            T("(cancel|delete|stop|turn off|remove|clear) every {reminder}"),
            T("I don't want any [more] {reminders}"),
        ),
    ),
)

# Breaks from reminders: skip the next one, pause them for a while (AMAZON.DURATION arrives as
# ISO 8601, "P1W"), and resume.
# Not "for tonight": "for {duration}" is a pause.
TONIGHT = "(tonight|today|this evening|just tonight)"
BREAK_INTENTS: tuple[Intent, ...] = (
    Intent(
        "SkipReminderIntent",
        slots=(("kind", "ReminderKind"),),
        samples=(
            T("skip (tonight's|today's|the next|my next|this evening's) {reminder}"),
            T("skip (my|the|tonight's|today's) {kind} reminder [" + TONIGHT + "]"),
            T("skip {reminders} " + TONIGHT),
            T("(no|I don't need a|I don't need the|I don't want a) {reminder} " + TONIGHT),
            T("(no|I don't need a|I don't need my) {kind} reminder " + TONIGHT),
            T("(I'll|I will|let me|I want to|I'd like to) skip {reminders} " + TONIGHT),
            T("(don't|do not) remind me to {kind} " + TONIGHT),
        ),
    ),
    Intent(
        "PauseRemindersIntent",
        slots=(("duration", "AMAZON.DURATION"), ("kind", "ReminderKind")),
        samples=(
            T("pause [all] {reminders} [for {duration}]"),
            T("pause my {kind} (reminder|reminders) [for {duration}]"),
            T("put [all] {reminders} on hold [for {duration}]"),
            T("(hold|turn off|switch off|suspend) [all] {reminders} for {duration}"),
            T("(I need|I want|I'd like|take) a break from {reminders} [for {duration}]"),
            T("no {reminders} for {duration}"),
            T("(don't|do not) remind me [to {kind}] for {duration}"),
        ),
        slot_samples={"duration": ("{duration}", "for {duration}", "pause them for {duration}")},
    ),
    Intent(
        "ResumeRemindersIntent",
        samples=(
            T("(resume|restart|unpause|unskip|turn back on|switch back on) [all] {reminders} [again]"),
            T("(turn|switch|put) {reminders} back on"),
            T("(start|begin) {reminders} again"),
            T("(end|stop|cancel) the pause on {reminders}"),
            T("(don't|do not) skip {reminders}"),
        ),
    ),
)

BUILTIN_INTENTS: tuple[Intent, ...] = (
    Intent(
        "AMAZON.HelpIntent",
        samples=(
            "what can you do",
            "what can I say",
            "what can I ask",
            "how does this work",
            "what do you know",
        ),
    ),
    Intent("AMAZON.StopIntent", samples=("goodbye", "bye", "that's all", "that's all for now", "good night")),
    Intent("AMAZON.CancelIntent", samples=("forget it",)),
    Intent("AMAZON.FallbackIntent"),
    Intent("AMAZON.NavigateHomeIntent"),
    Intent("AMAZON.YesIntent", samples=("yeah", "yep", "sounds good", "please do", "go for it")),
    Intent("AMAZON.NoIntent", samples=("nope", "no thank you", "not now", "not tonight", "maybe later")),
    Intent(
        "AMAZON.NextIntent",
        samples=(
            "next stretch",
            "next step",
            "next one",
            "what's next",
            "I'm done",
            "done",
            "I'm ready",
            "go on",
        ),
    ),
    Intent("AMAZON.PreviousIntent", samples=("previous stretch", "go back a step", "the stretch before")),
    Intent(
        "AMAZON.RepeatIntent",
        samples=("say it again", "repeat the stretch", "repeat that step", "what did you say"),
    ),
    Intent(
        "AMAZON.StartOverIntent",
        samples=("start the routine over", "from the beginning", "start from the top", "begin again"),
    ),
    Intent(
        "AMAZON.PauseIntent", samples=("hold on", "wait", "give me a minute", "pause the routine", "hang on")
    ),
    Intent("AMAZON.ResumeIntent", samples=("resume the routine", "carry on", "let's continue", "I'm back")),
)

# The free-text question: whatever the specific intents do not fit, after a carrier phrase. Alexa
# needs the carrier (AMAZON.SearchQuery cannot stand alone) and drops it from the slot value; the
# router (skill/router.py) reads what is left. It comes last: when a specific sample matches as
# well, that sample is the better fit.
CARRIERS = (
    "why",
    "what",
    "what's",
    "whats",
    "what about",
    "how",
    "how about",
    "when",
    "where",
    "which",
    "who",
    "can",
    "can you tell me",
    "could",
    "does",
    "do",
    "did",
    "is",
    "is it",
    "are",
    "was",
    "will",
    "would",
    "should",
    "am",
    "has",
    "have",
    "my",
    "I",
    "I'm",
    "I've",
    "I'd",
    "I'll",
    "it",
    "it's",
    "there's",
    "tell me",
    "tell me about",
    "explain",
    "help me with",
    "help with",
    "please",
    "any",
    "give me",
    "so",
    "and",
    "also",
    "okay",
    "but",
    "if",
    "after",
    "every",
    "sometimes",
    "lately",
    "cramps",
    # Where a question starts with something else: a time, a story, a thing.
    "at",
    "at what point",
    "in",
    "on",
    "for",
    "with",
    "since",
    "ever since",
    "one",
    "the",
    "this",
    "these",
    "a",
    "nothing",
    "everything",
    "been",
    "now",
    "just",
    # Fillers and exclamations people start with.
    "um",
    "uh",
    "er",
    "like",
    "oh",
    "well",
    "hey",
    "okay so",
    # Asking for something to be done: the router passes it on (never "stop" or "cancel": those stop).
    "take me",
    "walk me",
    "guide me",
    "show me",
    "start",
    "begin",
    "let's",
    "remind me",
    "set",
    "set up",
    "make",
    "change",
    "move",
    "delete",
    "remove",
    "read",
    "ow",
    "ouch",
    "argh",
    "ugh",
    "quick",
    "help",
)
FREE_TEXT_INTENT = Intent(
    "QuestionIntent",
    slots=(("query", "AMAZON.SearchQuery"),),
    samples=tuple(f"{carrier} {{query}}" for carrier in CARRIERS),
)

INTENTS: tuple[Intent, ...] = (
    QUESTION_INTENTS
    + ROUTINE_INTENTS
    + HABIT_INTENTS
    + REMINDER_INTENTS
    + BREAK_INTENTS
    + BUILTIN_INTENTS
    + (FREE_TEXT_INTENT,)
)

# --- Dialog model: the reminder slots Alexa may elicit, and the "cancel everything" confirmation --

PROMPTS: dict[str, tuple[str, ...]] = {
    "Elicit.Slot.SetReminderIntent.kind": (
        "Should I remind you to do your bedtime stretches, or to drink water?",
        "Which reminder would you like: stretch, or water?",
    ),
    "Elicit.Slot.SetReminderIntent.time": (
        "What time should I remind you?",
        "At what time? For example, nine thirty p.m.",
    ),
    "Elicit.Slot.MoveReminderIntent.kind": ("Which reminder should I move: stretch, or water?",),
    "Elicit.Slot.MoveReminderIntent.time": ("What time should it be?",),
    "Elicit.Slot.CancelReminderIntent.kind": ("Which reminder should I cancel: stretch, or water?",),
    "Elicit.Slot.PauseRemindersIntent.duration": (
        "For how long should I pause them? For example, for a week.",
        "How long should the pause be?",
    ),
    "Confirm.Intent.CancelAllRemindersIntent": (
        "That cancels all of your reminders. Are you sure?",
        "Do you really want to cancel every reminder?",
    ),
}

# The intents the skill runs a dialog for (it sends Dialog.ElicitSlot for them), with the prompt of
# each required slot. Other slots of these intents (fromTime, the second time...) are optional.
ELICITED: dict[str, dict[str, str]] = {
    "SetReminderIntent": {
        "kind": "Elicit.Slot.SetReminderIntent.kind",
        "time": "Elicit.Slot.SetReminderIntent.time",
    },
    "MoveReminderIntent": {
        "kind": "Elicit.Slot.MoveReminderIntent.kind",
        "time": "Elicit.Slot.MoveReminderIntent.time",
    },
    "CancelReminderIntent": {"kind": "Elicit.Slot.CancelReminderIntent.kind"},
    "PauseRemindersIntent": {"duration": "Elicit.Slot.PauseRemindersIntent.duration"},
}
CONFIRMED: dict[str, str] = {"CancelAllRemindersIntent": "Confirm.Intent.CancelAllRemindersIntent"}


def samples(intent: Intent, locale: str) -> list[str]:
    """The intent's samples for one locale, expanded from its templates."""
    return expand_all(intent.samples, word_lists(locale))


def wording() -> dict[str, str]:
    """Wording slot name -> its slot type ("cramps" -> "CrampWords")."""
    return {name: node["type"] for name, node in vocabulary()["wording"].items()}


def slots_of(intent: Intent) -> tuple[tuple[str, str], ...]:
    """The intent's own slots, then the wording slots its samples use, in the order they first appear."""
    declared = dict(intent.slots)
    used = [
        name
        for sample in expand_all(intent.samples, word_lists(LOCALES[0]))
        for name in SLOT.findall(sample)
        if name in wording() and name not in declared
    ]
    return (*intent.slots, *((name, wording()[name]) for name in dict.fromkeys(used)))


def _intent_json(intent: Intent, locale: str) -> dict[str, Any]:
    return {
        "name": intent.name,
        "slots": [
            {"name": name, "type": type_, "samples": list(intent.slot_samples.get(name, ()))}
            for name, type_ in slots_of(intent)
        ],
        "samples": samples(intent, locale),
    }


def wording_values(locale: str) -> dict[str, list[str]]:
    """Wording slot type -> its values for one locale, expanded from the vocabulary's lists."""
    return {
        node["type"]: expand(node["words"], word_lists(locale)) for node in vocabulary()["wording"].values()
    }


def _value_id(words: str) -> str:
    return re.sub(r"[^a-z]+", "_", words.lower()).strip("_")


def _types_json(locale: str) -> list[dict[str, Any]]:
    custom = [
        {
            "name": name,
            "values": [
                {"id": value_id, "name": {"value": value_name, "synonyms": synonyms}}
                for value_id, value_name, synonyms in values
            ],
        }
        for name, values in slot_types(locale).items()
    ]
    # Wording values are the words themselves: no synonyms, and no handler reads their ids.
    worded = [
        {"name": name, "values": [{"id": _value_id(w), "name": {"value": w, "synonyms": []}} for w in words]}
        for name, words in wording_values(locale).items()
    ]
    return custom + worded


def _dialog_json() -> dict[str, Any]:
    by_name = {intent.name: intent for intent in INTENTS}
    intents: list[dict[str, Any]] = []
    for name in (*ELICITED, *(n for n in CONFIRMED if n not in ELICITED)):
        elicited = ELICITED.get(name, {})
        confirmation = CONFIRMED.get(name)
        intents.append(
            {
                "name": name,
                # The skill drives the conversation itself (it may answer Dialog.Delegate).
                "delegationStrategy": "SKILL_RESPONSE",
                "confirmationRequired": confirmation is not None,
                "prompts": {"confirmation": confirmation} if confirmation else {},
                "slots": [
                    {
                        "name": slot,
                        "type": type_,
                        "confirmationRequired": False,
                        "elicitationRequired": slot in elicited,
                        "prompts": {"elicitation": elicited[slot]} if slot in elicited else {},
                    }
                    for slot, type_ in slots_of(by_name[name])
                ],
            }
        )
    return {"intents": intents, "delegationStrategy": "SKILL_RESPONSE"}


def _prompts_json() -> list[dict[str, Any]]:
    return [
        {"id": prompt_id, "variations": [{"type": "PlainText", "value": text} for text in texts]}
        for prompt_id, texts in PROMPTS.items()
    ]


def model(locale: str) -> dict[str, Any]:
    """The interaction model for one locale, as Alexa's JSON."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}")
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": INVOCATION_NAME,
                "intents": [_intent_json(intent, locale) for intent in INTENTS],
                "types": _types_json(locale),
            },
            "dialog": _dialog_json(),
            "prompts": _prompts_json(),
        }
    }


def render(locale: str) -> str:
    built = model(locale)
    found = limits.problems(built)
    if found:
        raise ValueError(f"{locale} breaks Alexa's limits:\n  " + "\n  ".join(found))
    return json.dumps(built, indent=2, ensure_ascii=False) + "\n"


def path_for(locale: str) -> Path:
    return HERE / f"{locale}.json"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale: list[str] = []
    for locale in LOCALES:
        text = render(locale)
        path = path_for(locale)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date (run python -m interaction_models.build): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
