"""Writes the five Alexa interaction models (en-US, en-GB, en-CA, en-AU, en-IN) from one definition.

The committed JSON files are what gets uploaded to Alexa; this script is their single source.
Intents, slots, slot types and value ids are the same in every locale (docs/intents.md is the
contract); locales differ only in a few extra words people use there ("trainers", "tablets", "GP").

    python interaction_models/build.py           # rewrite the five files
    python interaction_models/build.py --check   # exit 1 if a committed file is out of date
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
INVOCATION_NAME = "cramp coach"
LOCALES = ("en-US", "en-GB", "en-CA", "en-AU", "en-IN")
# Locales where British and Commonwealth words ("trainers", "tablets", "GP") are common.
COMMONWEALTH = ("en-GB", "en-AU", "en-IN")


@dataclass(frozen=True)
class Value:
    id: str
    name: str
    synonyms: tuple[str, ...] = ()
    # Extra synonyms for some locales only.
    local: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Intent:
    name: str
    slots: tuple[tuple[str, str], ...] = ()
    samples: tuple[str, ...] = ()
    local: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Utterances Alexa uses while eliciting one slot (dialog model), by slot name.
    slot_samples: dict[str, tuple[str, ...]] = field(default_factory=dict)


def commonwealth(*words: str) -> dict[str, tuple[str, ...]]:
    return {locale: words for locale in COMMONWEALTH}


def north_america(*words: str) -> dict[str, tuple[str, ...]]:
    return {"en-US": words, "en-CA": words}


# --- Slot types (ids are the contract in docs/intents.md) -----------------------------------

TYPES: dict[str, tuple[Value, ...]] = {
    "CauseType": (
        Value(
            "fatigue",
            "muscle fatigue",
            (
                "fatigue",
                "tired muscles",
                "overuse",
                "overdoing it",
                "too much exercise",
                "hard workouts",
                "long walks",
                "standing all day",
                "being on my feet all day",
            ),
        ),
        Value(
            "dehydration",
            "dehydration",
            (
                "being dehydrated",
                "not drinking enough",
                "not drinking enough water",
                "sweating",
                "heavy sweating",
                "hot weather",
                "the heat",
            ),
        ),
        Value(
            "electrolytes",
            "electrolyte imbalance",
            (
                "electrolytes",
                "low electrolytes",
                "low minerals",
                "mineral deficiency",
                "low magnesium",
                "magnesium deficiency",
                "low potassium",
                "calcium deficiency",
                "low sodium",
            ),
        ),
        Value(
            "sedentary",
            "sedentary lifestyle",
            (
                "sitting all day",
                "sitting too long",
                "sitting at a desk",
                "a desk job",
                "not moving enough",
                "not enough exercise",
                "lack of exercise",
                "inactivity",
                "driving all day",
            ),
        ),
        Value(
            "medications", "medications", ("medication", "medicines", "medicine", "drugs", "prescriptions")
        ),
        Value("pregnancy", "pregnancy", ("being pregnant", "pregnant", "expecting a baby")),
        Value(
            "conditions",
            "health conditions",
            ("medical conditions", "a health condition", "illness", "an illness", "disease"),
        ),
        Value(
            "aging",
            "aging",
            ("age", "my age", "old age", "getting older", "growing old"),
            commonwealth("ageing"),
        ),
        Value(
            "circulation",
            "poor circulation",
            (
                "circulation",
                "bad circulation",
                "nerve compression",
                "a pinched nerve",
                "sleeping in an awkward position",
                "an awkward position",
                "crossing my legs",
            ),
        ),
    ),
    "MedicationType": (
        Value(
            "diuretics",
            "diuretics",
            (
                "a diuretic",
                "water pills",
                "fluid pills",
                "blood pressure pills",
                "blood pressure medicine",
                "blood pressure medication",
                "my blood pressure pills",
            ),
            commonwealth("water tablets", "blood pressure tablets"),
        ),
        Value(
            "statins",
            "statins",
            (
                "a statin",
                "cholesterol medicine",
                "cholesterol medication",
                "cholesterol pills",
                "cholesterol meds",
                "my cholesterol medicine",
            ),
            commonwealth("cholesterol tablets"),
        ),
        Value(
            "birth_control",
            "birth control pills",
            (
                "birth control",
                "the pill",
                "the birth control pill",
                "contraceptive pills",
                "the contraceptive pill",
            ),
        ),
        Value(
            "asthma",
            "asthma medication",
            ("asthma medicine", "albuterol", "an inhaler", "inhaler", "my inhaler", "asthma inhaler"),
            commonwealth("salbutamol"),
        ),
    ),
    "ConditionType": (
        Value(
            "diabetes",
            "diabetes",
            ("diabetic", "being diabetic", "high blood sugar", "neuropathy", "nerve damage"),
        ),
        Value(
            "pad",
            "peripheral artery disease",
            ("P. A. D.", "poor blood flow", "poor blood flow to my legs", "blocked arteries"),
            commonwealth("peripheral arterial disease"),
        ),
        Value(
            "thyroid",
            "thyroid disease",
            (
                "thyroid",
                "a thyroid problem",
                "thyroid problems",
                "a thyroid disorder",
                "an underactive thyroid",
                "hypothyroidism",
            ),
        ),
        Value(
            "kidney", "kidney disease", ("kidney problems", "kidney failure", "bad kidneys", "kidney trouble")
        ),
        Value(
            "neurological",
            "neurological conditions",
            (
                "a neurological condition",
                "MS",
                "multiple sclerosis",
                "Parkinson's",
                "Parkinson's disease",
                "ALS",
                "Lou Gehrig's disease",
                "nerve problems",
            ),
            commonwealth("motor neurone disease"),
        ),
    ),
    "MineralType": (
        Value("magnesium", "magnesium"),
        Value("potassium", "potassium"),
        Value("calcium", "calcium"),
        Value("sodium", "sodium", ("salt",)),
    ),
    "SupplementType": (
        Value(
            "magnesium",
            "magnesium",
            (
                "a magnesium supplement",
                "magnesium supplements",
                "magnesium pills",
                "magnesium glycinate",
                "magnesium citrate",
            ),
            commonwealth("magnesium tablets"),
        ),
        Value(
            "potassium", "potassium", ("a potassium supplement", "potassium supplements", "potassium pills")
        ),
        Value(
            "calcium",
            "calcium",
            (
                "calcium and vitamin D",
                "vitamin D",
                "calcium supplements",
                "a calcium supplement",
                "calcium pills",
            ),
        ),
    ),
    "SymptomType": (
        Value("red", "red", ("redness", "reddish", "red and sore")),
        Value("hot", "hot", ("warm", "warm to the touch", "hot to the touch", "heat")),
        Value("swollen", "swollen", ("swelling", "puffy", "red and swollen", "swollen and painful")),
        Value("weakness", "weak", ("weakness", "muscle weakness", "very weak")),
        Value("numbness", "numb", ("numbness", "tingling", "tingly", "pins and needles")),
        Value(
            "frequent",
            "frequent",
            (
                "very frequent",
                "every night",
                "all the time",
                "several times a week",
                "getting worse",
                "constant",
            ),
        ),
        Value(
            "severe",
            "severe",
            ("really bad", "very bad", "very painful", "really painful", "unbearable", "excruciating"),
        ),
    ),
    "StretchType": (
        Value(
            "wall_calf",
            "wall stretch",
            (
                "calf stretch",
                "wall lean",
                "calf stretch against the wall",
                "calf stretches",
                "wall calf stretch",
            ),
        ),
        Value(
            "forward_bend",
            "seated forward bend",
            ("forward bend", "hamstring stretch", "toe reach", "sitting forward bend"),
        ),
        Value("towel", "towel stretch", ("towel", "stretch in bed", "bed stretch")),
    ),
    "ReminderKind": (
        Value(
            "stretch",
            "stretch",
            ("bedtime stretch", "stretching", "stretches", "do my stretches", "do my bedtime stretches"),
        ),
        Value(
            "water", "water", ("drink water", "hydration", "drink some water", "drinking water", "hydrate")
        ),
    ),
    "DayType": (
        Value("every_day", "every day", ("every night", "daily", "each night", "nightly", "every evening")),
        Value("weekdays", "weekdays", ("week days", "workdays", "monday to friday")),
        Value("weekends", "weekends", ("the weekend", "saturday and sunday")),
        Value("monday", "monday", ("mondays",)),
        Value("tuesday", "tuesday", ("tuesdays",)),
        Value("wednesday", "wednesday", ("wednesdays",)),
        Value("thursday", "thursday", ("thursdays",)),
        Value("friday", "friday", ("fridays",)),
        Value("saturday", "saturday", ("saturdays",)),
        Value("sunday", "sunday", ("sundays",)),
    ),
}

# --- Intents ---------------------------------------------------------------------------------

QUESTION_INTENTS: tuple[Intent, ...] = (
    Intent(
        "WhatIsCrampIntent",
        samples=(
            "what is a night cramp",
            "what are night cramps",
            "what is a leg cramp",
            "what are leg cramps",
            "what are nocturnal leg cramps",
            "what is a nocturnal leg cramp",
            "what is a charley horse",
            "what's a charley horse",
            "what exactly is a cramp",
            "what is a muscle cramp",
            "what happens during a leg cramp",
            "what happens when my leg cramps",
            "what is happening when my calf cramps",
            "why does my calf tighten up",
            "explain night cramps",
            "tell me about night cramps",
            "tell me about leg cramps",
            "how long do leg cramps last",
            "what does a night cramp feel like",
        ),
    ),
    Intent(
        "RestlessLegsIntent",
        samples=(
            "is it restless legs",
            "is this restless legs",
            "do I have restless legs",
            "do I have restless legs syndrome",
            "what is restless legs syndrome",
            "what is restless leg syndrome",
            "what's the difference between cramps and restless legs",
            "what is the difference between a cramp and restless legs",
            "how are cramps different from restless legs",
            "are cramps the same as restless legs",
            "is a cramp the same as restless legs",
            "tell me about restless legs",
            "what is R. L. S.",
            "is it R. L. S.",
            "my legs feel like they need to move",
            "I have an urge to move my legs",
            "my legs feel crawly at night",
            "I can't keep my legs still at night",
        ),
    ),
    Intent(
        "CausesIntent",
        slots=(("cause", "CauseType"),),
        samples=(
            "what causes night cramps",
            "what causes leg cramps",
            "what causes leg cramps at night",
            "what causes cramps in my calf",
            "why do I get leg cramps at night",
            "why do I get cramps at night",
            "why do my legs cramp at night",
            "why does my calf cramp at night",
            "why do I keep getting leg cramps",
            "why do my calves cramp",
            "what triggers night cramps",
            "what triggers leg cramps",
            "what are the causes of leg cramps",
            "what are the common causes of night cramps",
            "can {cause} cause leg cramps",
            "can {cause} cause cramps",
            "can {cause} cause night cramps",
            "does {cause} cause cramps",
            "does {cause} cause leg cramps",
            "do cramps come from {cause}",
            "are my cramps from {cause}",
            "are my cramps caused by {cause}",
            "is {cause} causing my cramps",
            "could {cause} be causing my cramps",
            "could my cramps be from {cause}",
            "why does {cause} cause cramps",
            "how does {cause} cause cramps",
            "is it because of {cause}",
            "do I get cramps because of {cause}",
            "cramps from {cause}",
        ),
    ),
    Intent(
        "MedicationIntent",
        slots=(("medication", "MedicationType"),),
        samples=(
            "which medicines cause cramps",
            "which medicines cause leg cramps",
            "what medications cause leg cramps",
            "what medications can cause cramps",
            "which drugs cause leg cramps",
            "can my medication cause cramps",
            "can my medicine give me cramps",
            "could my medication be causing my cramps",
            "are my pills causing my cramps",
            "medicines that cause cramps",
            "can {medication} cause cramps",
            "can {medication} cause leg cramps",
            "can {medication} give me cramps",
            "do {medication} cause cramps",
            "do {medication} cause leg cramps",
            "does {medication} cause cramps",
            "does {medication} cause leg cramps",
            "are {medication} causing my cramps",
            "is {medication} causing my cramps",
            "could {medication} be causing my cramps",
            "I take {medication}",
            "I'm on {medication}",
            "I'm taking {medication} and I get cramps",
            "I just started {medication}",
            "I just started taking {medication}",
            "I started {medication} and now I get cramps",
            "side effects of {medication}",
            "do {medication} have side effects like cramps",
        ),
    ),
    Intent(
        "ConditionIntent",
        slots=(("condition", "ConditionType"),),
        samples=(
            "which health conditions cause cramps",
            "what conditions are linked to leg cramps",
            "what illnesses cause night cramps",
            "what diseases cause leg cramps",
            "can a disease cause leg cramps",
            "what health problems cause night cramps",
            "are cramps a sign of a health problem",
            "can {condition} cause leg cramps",
            "can {condition} cause cramps",
            "can {condition} cause night cramps",
            "does {condition} cause cramps",
            "does {condition} cause leg cramps",
            "are cramps a sign of {condition}",
            "are my cramps a sign of {condition}",
            "could my cramps mean {condition}",
            "I have {condition}",
            "I have {condition} and I get cramps",
            "I have {condition} and leg cramps",
            "cramps and {condition}",
            "is there a link between cramps and {condition}",
        ),
    ),
    Intent(
        "PreventionIntent",
        samples=(
            "how can I prevent night cramps",
            "how can I prevent leg cramps",
            "how do I prevent leg cramps",
            "how do I prevent night cramps",
            "how to prevent leg cramps",
            "how do I stop getting cramps at night",
            "how do I stop getting leg cramps",
            "how can I stop night cramps",
            "how can I stop leg cramps at night",
            "what can I do to prevent cramps",
            "what can I do to avoid leg cramps",
            "how do I avoid leg cramps",
            "how do I keep my legs from cramping",
            "give me tips to prevent cramps",
            "give me prevention tips",
            "prevention tips",
            "what helps prevent leg cramps",
            "what should I do before bed to avoid cramps",
            "how can I sleep without cramps",
            "how do I get rid of night cramps for good",
            "what can I do tonight to avoid cramps",
        ),
    ),
    Intent(
        "FoodsIntent",
        slots=(("mineral", "MineralType"),),
        samples=(
            "what foods help with cramps",
            "what foods help leg cramps",
            "which foods prevent cramps",
            "which foods help with night cramps",
            "what should I eat for leg cramps",
            "what should I eat to prevent cramps",
            "what to eat for night cramps",
            "is there a diet for leg cramps",
            "do bananas help with cramps",
            "are bananas good for leg cramps",
            "what foods have electrolytes",
            "what foods are high in {mineral}",
            "which foods are high in {mineral}",
            "what foods have {mineral}",
            "which foods have {mineral}",
            "what foods contain {mineral}",
            "foods rich in {mineral}",
            "foods high in {mineral}",
            "what should I eat for {mineral}",
            "what should I eat to get {mineral}",
            "where do I get {mineral} from food",
            "how do I get more {mineral} from my diet",
            "how can I get more {mineral} from food",
            "which foods give me {mineral}",
        ),
    ),
    Intent(
        "SupplementsIntent",
        slots=(("supplement", "SupplementType"),),
        samples=(
            "should I take a supplement",
            "should I take supplements for cramps",
            "should I take supplements for leg cramps",
            "what supplements help leg cramps",
            "which supplements help with cramps",
            "do supplements help with cramps",
            "are supplements good for night cramps",
            "what vitamins help with leg cramps",
            "should I take {supplement}",
            "should I take {supplement} for cramps",
            "should I take {supplement} for leg cramps",
            "does {supplement} help with cramps",
            "does {supplement} help leg cramps",
            "do {supplement} help with cramps",
            "is {supplement} good for cramps",
            "is {supplement} good for leg cramps",
            "how much {supplement} should I take",
            "can I take {supplement}",
            "can I take {supplement} for cramps",
            "is it safe to take {supplement}",
            "should I try {supplement}",
            "will {supplement} help my cramps",
            "when should I take {supplement}",
        ),
    ),
    Intent(
        "ReliefIntent",
        samples=(
            "I have a cramp right now",
            "I have a cramp",
            "I've got a cramp",
            "I have a leg cramp right now",
            "I've got a charley horse",
            "I have a charley horse",
            "my leg is cramping",
            "my leg is cramping right now",
            "my calf is cramping",
            "my calf is cramping right now",
            "my foot is cramping",
            "my thigh is cramping",
            "help my leg is cramping",
            "I woke up with a cramp",
            "I just woke up with a leg cramp",
            "how do I stop a cramp",
            "how do I stop a cramp right now",
            "how do I get rid of a cramp",
            "how do I relieve a cramp",
            "how can I relieve a leg cramp",
            "how do I make a cramp stop",
            "what do I do when I get a cramp",
            "what should I do during a cramp",
            "what helps a cramp right now",
            "my calf is sore after a cramp",
        ),
    ),
    Intent(
        "ShoesActivityIntent",
        samples=(
            "what shoes should I wear",
            "what kind of shoes help with cramps",
            "do shoes matter for cramps",
            "do my shoes matter",
            "can my shoes cause cramps",
            "are my shoes causing my cramps",
            "does arch support help",
            "what footwear is best for leg cramps",
            "does exercise help leg cramps",
            "does exercise help with night cramps",
            "is exercise good for night cramps",
            "should I exercise more",
            "how much should I exercise",
            "how active should I be",
            "does walking help with cramps",
            "should I walk more",
            "can I still work out",
            "should I stop running",
            "is running bad for leg cramps",
        ),
        local={
            **north_america("should I wear sneakers", "do sneakers help with cramps"),
            **commonwealth("should I wear trainers", "do trainers help with cramps"),
        },
    ),
    Intent(
        "DoctorIntent",
        samples=(
            "when should I see a doctor",
            "should I see a doctor",
            "should I see a doctor about my cramps",
            "do I need to see a doctor",
            "do I need a doctor",
            "when should I call my doctor",
            "should I go to the doctor about leg cramps",
            "when should I worry",
            "should I be worried",
            "should I be worried about my cramps",
            "when are leg cramps serious",
            "are leg cramps serious",
            "are my cramps serious",
            "is this serious",
            "are night cramps normal",
            "are night cramps dangerous",
            "are my cramps a sign of something serious",
            "what should I say to my doctor",
            "when to see a doctor",
            "when to see a doctor for leg cramps",
        ),
        local=commonwealth(
            "should I see my G. P.",
            "when should I see my G. P.",
            "should I see a G. P. about my cramps",
        ),
    ),
    Intent(
        "RedFlagIntent",
        slots=(("symptom", "SymptomType"),),
        samples=(
            "my leg is {symptom}",
            "my calf is {symptom}",
            "my foot is {symptom}",
            "my leg feels {symptom}",
            "my calf feels {symptom}",
            "my leg is {symptom} and it hurts",
            "my calf is {symptom} and it hurts",
            "my leg is {symptom} after a cramp",
            "my calf is {symptom} after the cramp",
            "my leg is {symptom} and painful",
            "I have {symptom} in my leg",
            "I have {symptom} in my calf",
            "I have {symptom} in my foot",
            "there's {symptom} in my leg",
            "I feel {symptom} in my leg",
            "my cramps are {symptom}",
            "my leg cramps are {symptom}",
            "I get cramps {symptom}",
            "I get leg cramps {symptom}",
            "what if my leg is {symptom}",
            "what does it mean if my leg is {symptom}",
            "what does it mean if my calf is {symptom}",
            "is it bad if my leg is {symptom}",
            "could it be a blood clot",
            "could this be a blood clot",
            "do I have a blood clot",
            "is my leg pain a blood clot",
            "what are the signs of a blood clot",
            "what are the warning signs",
            "what are the red flags",
            "when is leg pain an emergency",
        ),
    ),
    Intent(
        "StretchIntent",
        slots=(("stretch", "StretchType"),),
        samples=(
            "what stretches help",
            "what stretches help with leg cramps",
            "which stretches help with night cramps",
            "what are the bedtime stretches",
            "what stretches should I do before bed",
            "which stretches should I do",
            "how do I stretch my calves",
            "how should I stretch before bed",
            "explain the stretches",
            "describe the stretches",
            "how do I do the {stretch}",
            "how do I do a {stretch}",
            "how to do the {stretch}",
            "explain the {stretch}",
            "describe the {stretch}",
            "what is the {stretch}",
            "what's the {stretch}",
            "teach me the {stretch}",
            "how long do I hold the {stretch}",
            "how long should I hold the {stretch}",
        ),
    ),
)

ROUTINE_INTENTS: tuple[Intent, ...] = (
    Intent(
        "StartRoutineIntent",
        samples=(
            "start the routine",
            "start my routine",
            "start the bedtime routine",
            "start my bedtime routine",
            "start my bedtime stretches",
            "start the stretches",
            "start stretching",
            "begin the routine",
            "begin my bedtime stretches",
            "walk me through my bedtime stretches",
            "walk me through the stretches",
            "walk me through the routine",
            "guide me through the stretches",
            "guide me through my bedtime routine",
            "take me through the stretches",
            "lead me through the routine",
            "coach me through my stretches",
            "let's stretch",
            "let's do the stretches",
            "let's do my stretches",
            "do the stretches with me",
            "stretch with me",
            "I'm ready to stretch",
            "give me the five minute routine",
            "start the five minute routine",
            "do the bedtime routine",
            "make me a routine",
            "I want to do my bedtime stretches",
        ),
    ),
)

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
            "set a reminder",
            "set up a reminder",
            "create a reminder",
            "add a reminder",
            "I want a reminder",
            "I'd like a reminder",
            "set a reminder for {time}",
            "set a reminder at {time}",
            "set a reminder for {time} {days}",
            "set a {kind} reminder",
            "set a {kind} reminder for {time}",
            "set a {kind} reminder at {time}",
            "set a {kind} reminder for {time} {days}",
            "set a {kind} reminder for {time} on {days}",
            "set a {kind} reminder for {time} and {timeTwo}",
            "remind me to {kind}",
            "remind me to {kind} {days}",
            "remind me to {kind} at {time}",
            "remind me to {kind} at {time} {days}",
            "remind me to {kind} at {time} on {days}",
            "remind me to {kind} at {time} on {days} and {dayTwo}",
            "remind me to {kind} on {days} and {dayTwo} at {time}",
            "remind me to {kind} on {days} at {time}",
            "remind me to {kind} {days} at {time}",
            "remind me to {kind} at {time} and {timeTwo}",
            "remind me to {kind} at {time} and {timeTwo} {days}",
            "remind me to {kind} at {time} and {timeTwo} on {days}",
            "remind me to {kind} at {time} {timeTwo} and {timeThree}",
            "remind me to {kind} at {time} and {timeTwo} and {timeThree}",
            "remind me at {time} to {kind}",
            "remind me at {time} {days} to {kind}",
            "remind me {days} at {time} to {kind}",
            "remind me {days} to {kind}",
            "can you remind me to {kind}",
            "can you remind me to {kind} at {time}",
            "I want to be reminded to {kind}",
            "I want to be reminded to {kind} at {time}",
            "I want a {kind} reminder",
            "I want a {kind} reminder at {time}",
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
            "what are my reminders",
            "list my reminders",
            "what reminders do I have",
            "which reminders do I have",
            "do I have any reminders",
            "read my reminders",
            "check my reminders",
            "show my reminders",
            "tell me my reminders",
            "what reminders have I set",
            "when are my reminders",
        ),
    ),
    Intent(
        "MoveReminderIntent",
        slots=(("kind", "ReminderKind"), ("fromTime", "AMAZON.TIME"), ("time", "AMAZON.TIME")),
        samples=(
            "move my reminder",
            "change my reminder",
            "change the reminder time",
            "move my reminder to {time}",
            "change my reminder to {time}",
            "move my {kind} reminder",
            "change my {kind} reminder",
            "move my {kind} reminder to {time}",
            "change my {kind} reminder to {time}",
            "reschedule my {kind} reminder to {time}",
            "make my {kind} reminder {time}",
            "move my {kind} reminder from {fromTime} to {time}",
            "change my {kind} reminder from {fromTime} to {time}",
            "move the {kind} reminder at {fromTime} to {time}",
            "move my reminder from {fromTime} to {time}",
            "change my reminder from {fromTime} to {time}",
            "move the one at {fromTime} to {time}",
            "move the one at {fromTime}",
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
            "cancel a reminder",
            "cancel my reminder",
            "delete a reminder",
            "delete my reminder",
            "cancel my {kind} reminder",
            "cancel the {kind} reminder",
            "delete my {kind} reminder",
            "remove my {kind} reminder",
            "stop my {kind} reminder",
            "turn off my {kind} reminder",
            "stop reminding me to {kind}",
            "I don't want the {kind} reminder anymore",
        ),
        slot_samples={"kind": ("{kind}", "my {kind} reminder", "the {kind} reminder")},
    ),
    Intent(
        "CancelAllRemindersIntent",
        samples=(
            "cancel all my reminders",
            "cancel all reminders",
            "cancel all of my reminders",
            "delete all my reminders",
            "delete all reminders",
            "remove all my reminders",
            "turn off all my reminders",
            "stop all my reminders",
            "stop all reminders",
            "clear my reminders",
            "clear all reminders",
            "I don't want any reminders",
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

INTENTS: tuple[Intent, ...] = QUESTION_INTENTS + ROUTINE_INTENTS + REMINDER_INTENTS + BUILTIN_INTENTS

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
}
CONFIRMED: dict[str, str] = {"CancelAllRemindersIntent": "Confirm.Intent.CancelAllRemindersIntent"}


def _intent_json(intent: Intent, locale: str) -> dict[str, Any]:
    samples = list(intent.samples) + list(intent.local.get(locale, ()))
    return {
        "name": intent.name,
        "slots": [
            {"name": name, "type": type_, "samples": list(intent.slot_samples.get(name, ()))}
            for name, type_ in intent.slots
        ],
        "samples": samples,
    }


def _type_json(name: str, values: tuple[Value, ...], locale: str) -> dict[str, Any]:
    return {
        "name": name,
        "values": [
            {
                "id": value.id,
                "name": {
                    "value": value.name,
                    "synonyms": list(value.synonyms) + list(value.local.get(locale, ())),
                },
            }
            for value in values
        ],
    }


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
                    for slot, type_ in by_name[name].slots
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
                "types": [_type_json(name, values, locale) for name, values in TYPES.items()],
            },
            "dialog": _dialog_json(),
            "prompts": _prompts_json(),
        }
    }


def render(locale: str) -> str:
    return json.dumps(model(locale), indent=2, ensure_ascii=False) + "\n"


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
        print(f"out of date (run python interaction_models/build.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
