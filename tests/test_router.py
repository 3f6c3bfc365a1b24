"""The free-text router: red flags first, then topics by their vocabulary, then nothing, never a guess.

The words are what Alexa sends in QuestionIntent's query slot: the question after its carrier
phrase ("why do my feet cramp" arrives as "do my feet cramp").
"""

from __future__ import annotations

from typing import Any

import pytest

from skill.content import load_language
from skill.router import NOTHING, Route, lexicon, normalize, route

WORDS = load_language("en")


def to(text: str | None) -> Route:
    return route(text, WORDS)


@pytest.mark.parametrize(
    "text, symptom",
    [
        ("my leg is hot and swollen", "swollen"),
        ("calf is red and it hurts", "red"),
        ("leg's hot", "hot"),
        ("one leg feels warm to the touch", "hot"),
        ("there's swelling in my ankle", "swollen"),
        ("my legs feel weak", "weakness"),
        ("foot goes numb after a cramp", "numbness"),
        ("tingling in my toes", "numbness"),
        # A red flag wins over every topic in the same question.
        ("can statins make my calf swollen", "swollen"),
        ("I'm pregnant and my leg is red", "red"),
        ("does magnesium help when my leg feels hot", "hot"),
    ],
)
def test_red_flag_words_always_reach_the_red_flag_advice(text: str, symptom: str) -> None:
    assert to(text) == Route("red_flag", f"red_flags.{symptom}")


@pytest.mark.parametrize(
    "text, target",
    [
        ("does a warm compress help", "relief"),
        ("should I use heat on it", "relief"),
        ("would a hot bath help the cramp", "relief"),
        ("keep my legs warm at night", "prevention"),
        ("do I get more cramps in hot weather", "causes.dehydration"),
        ("is the heat making it worse", "causes.dehydration"),
    ],
)
def test_warm_and_hot_as_remedies_or_weather_are_not_red_flags(text: str, target: str) -> None:
    assert to(text).kind == "topic"
    assert to(text).target == target


@pytest.mark.parametrize(
    "text, target",
    [
        ("can water pills cause cramps", "medications.diuretics"),
        ("are my cramps a sign of diabetes", "conditions.diabetes"),
        ("what foods have potassium", "foods.potassium"),
        ("potatoes help", "foods.potassium"),
        ("should I take magnesium", "supplements.magnesium"),
        ("how do I do the towel stretch", "stretches.towel"),
        ("is there a stretch I can do lying down", "stretches.towel"),
        ("some good stretches for my calves", "stretches.overview"),
        ("can cold cause cramps", "causes.cold"),
        ("can my shoes cause cramps", "causes.shoes"),
        ("a hot summer give you night cramps", "causes.dehydration"),
        ("went on a really long walk today will I get cramps", "causes.fatigue"),
        ("I'm in my third trimester and my calves keep cramping", "causes.pregnancy"),
        ("are night cramps dangerous", "reassurance"),
        ("is it normal for a cramp to last a few minutes", "what_is"),
        ("when should I see a doctor", "doctor"),
        ("what's the difference between a cramp and restless legs", "restless_legs"),
        ("what helps with leg cramps", "prevention"),
        ("I have a cramp right now what do I do", "relief"),
        ("does exercise help", "shoes_activity"),
        ("can exercise cause cramps", "causes.fatigue"),
        ("Parkinson's and cramps", "conditions.neurological"),
    ],
)
def test_topics_by_their_vocabulary(text: str, target: str) -> None:
    found = to(text)
    assert (found.kind, found.target) == ("topic", target), found


def test_a_question_the_carrier_was_dropped_from_keeps_its_shape() -> None:
    # "why do my feet cramp" and "what is a charley horse", as Alexa sends them.
    assert to("do my feet cramp at night").target == "causes.overview"
    assert to("a charley horse").target == "what_is"
    assert to("cramps in my feet").target == "what_is"


def test_how_often_and_how_bad() -> None:
    assert to("is it normal to get cramps every night") == Route("red_flag", "red_flags.frequent")
    assert to("I get cramps every night") == Route("red_flag", "red_flags.frequent")
    # Frequent cramps with a question that has its own answer: that answer, after a doctor note.
    prevention = to("how do I stop my cramps, they come every night")
    assert (prevention.target, prevention.note) == ("prevention", True)
    assert to("my cramps are really bad what can I do right now") == Route("topic", "relief", note=True)
    # Self-care that is not working is the see-a-doctor advice itself.
    assert to("I've tried stretching and water and it's not getting better") == Route(
        "red_flag", "red_flags.severe"
    )


def test_what_we_have_nothing_on_is_named_not_guessed() -> None:
    # Holding a red-flag word does not make it a red flag, nor something we know.
    assert to("can red wine cause cramps") == Route("topic", "causes.overview", unknown="red wine")
    assert to("do hot flushes cause leg cramps") == Route("topic", "causes.overview", unknown="hot flushes")
    assert to("can caffeine cause cramps") == Route("topic", "causes.overview", unknown="caffeine")
    assert to("should I take zinc") == Route("topic", "supplements.overview", unknown="zinc")
    # The group's own words are not unknown.
    assert to("what are the common causes of night cramps").unknown == ""


@pytest.mark.parametrize(
    "text, route_",
    [
        ("walk me through the bedtime routine", Route("routine", "start")),
        ("give me a bedtime routine", Route("routine", "start")),
        ("tell me about the routine", Route("routine", "about")),
        ("remind me to drink water", Route("reminders", "set", reminder_kind="water")),
        ("set up a reminder", Route("reminders", "set")),
        ("what reminders do I have", Route("reminders", "list")),
        ("cancel all my reminders", Route("reminders", "cancel_all")),
        ("delete my stretch reminder", Route("reminders", "cancel", reminder_kind="stretch")),
        ("move my water reminder to ten", Route("reminders", "move", reminder_kind="water")),
        ("can you skip my reminder tonight", Route("reminders", "skip")),
        ("don't remind me tonight to stretch", Route("reminders", "skip", reminder_kind="stretch")),
        ("put my reminders on hold while I'm away", Route("reminders", "pause")),
        ("stop the water reminders for a week", Route("reminders", "pause", reminder_kind="water")),
        ("turn my reminders back on", Route("reminders", "resume")),
    ],
)
def test_the_routine_and_reminders_are_actions(text: str, route_: Route) -> None:
    assert to(text) == route_


@pytest.mark.parametrize("text", [None, "", "   ", "play some jazz", "hmm", "what's the weather like"])
def test_nothing_we_know_is_nothing(text: str | None) -> None:
    assert to(text) == NOTHING


def test_words_are_read_the_same_way_as_the_vocabulary() -> None:
    assert normalize("My LEG's  hot!") == ["my", "leg", "is", "hot"]
    assert normalize("can't, won't") == ["can't", "won't"]
    assert normalize("Parkinson\u2019s") == normalize("Parkinson's")


def test_every_route_target_has_content() -> None:
    """Whatever the router can name exists: a topic answer (or an alias to one) or an action."""
    lex = lexicon(WORDS)
    actions = {"routine", "reminders"}
    topics: dict[str, Any] = WORDS.get("topics")
    for sense in (s for senses in lex.phrases.values() for s in senses):
        if sense.topic in actions:
            continue
        path = f"{sense.topic}.{sense.value[1]}" if sense.value else sense.topic
        node: Any = topics
        for part in path.split("."):
            node = node[part]
        assert "answer" in node or "see" in node or "overview" in node, path
    for target in lex.hints:
        group, value = target.split(".")
        assert value in topics[group], target
    assert set(lex.priority) >= {s.topic for senses in lex.phrases.values() for s in senses}
