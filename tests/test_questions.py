"""Question intents over HTTP: topics by resolved id and by spoken words, overviews, offers, red flags."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

import pytest
from flask.testing import FlaskClient

from skill.content import load_language
from skill.handlers import questions
from tests.envelopes import Envelopes, reprompt_of, said, speech_of

WORDS = load_language("en")


class Talk:
    """One user's conversation: session attributes carried from each response to the next request."""

    def __init__(self, client: FlaskClient, envelopes: Envelopes, user_id: str | None = None) -> None:
        self.client = client
        self.envelopes = envelopes
        self.user_id = user_id or f"amzn1.ask.account.{uuid.uuid4().hex}"
        self.attributes: dict[str, Any] = {}
        self.last: dict[str, Any] = {}
        # Bytes of the last response body, as sent (Alexa refuses more than 24 KB).
        self.last_size = 0

    def post(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        response = self.client.post("/alexa", data=json.dumps(envelope), content_type="application/json")
        assert response.status_code == 200, response.get_data(as_text=True)
        self.last_size = len(response.get_data())
        body: dict[str, Any] = response.get_json()
        self.attributes = dict(body.get("sessionAttributes") or {})
        self.last = body
        out = body["response"].get("outputSpeech")
        if out:
            ET.fromstring(out["ssml"])  # every spoken response is a valid SSML document
            assert body["response"].get("shouldEndSession") or reprompt_of(body), "open session, no reprompt"
        return body

    def intent(self, name: str, slots: Mapping[str, str | None] | None = None, **kw: Any) -> dict[str, Any]:
        return self.post(
            self.envelopes.intent(name, slots, session_attributes=self.attributes, user_id=self.user_id, **kw)
        )

    def launch(self) -> dict[str, Any]:
        return self.post(self.envelopes.launch(session_attributes=self.attributes, user_id=self.user_id))

    def new_session(self) -> None:
        self.envelopes.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
        self.envelopes.new_session = True
        self.attributes = {}

    @property
    def offer(self) -> str | None:
        value = self.attributes.get("offer")
        return None if value is None else str(value)


def card_of(body: Mapping[str, Any]) -> tuple[str, str]:
    card = body["response"]["card"]
    assert card["type"] == "Simple"
    return str(card["title"]), str(card["content"])


def heard(talk: Talk) -> None:
    """Mark the disclaimer as heard, so later answers start with the answer itself."""
    talk.intent("AMAZON.HelpIntent")
    talk.new_session()


@pytest.fixture
def talk(client: FlaskClient, envelopes: Envelopes) -> Talk:
    t = Talk(client, envelopes)
    heard(t)
    return t


SINGLE = [q for q in questions.QUESTIONS if q.slot is None]
SLOTTED = [q for q in questions.QUESTIONS if q.slot is not None]


@pytest.mark.parametrize("question", SINGLE, ids=lambda q: q.intent)
def test_each_question_without_slots_answers_and_offers_more(
    talk: Talk, question: questions.Question
) -> None:
    body = talk.intent(question.intent)
    answer = WORDS.text(f"topics.{question.branch}.answer")
    assert said(body).startswith(answer)
    assert talk.offer == f"more:{question.branch}"
    assert body["response"]["shouldEndSession"] is False
    title, text = card_of(body)
    assert title == WORDS.text(f"topics.{question.branch}.title")
    assert answer in text and WORDS.text(f"topics.{question.branch}.more") in text


@pytest.mark.parametrize("question", SLOTTED, ids=lambda q: q.intent)
def test_each_slot_question_without_a_value_gives_the_overview_with_the_options(
    talk: Talk, question: questions.Question
) -> None:
    assert question.slot is not None
    for slots in (None, {question.slot: None}):
        body = talk.intent(question.intent, slots)
        assert said(body).startswith(WORDS.text(f"topics.{question.branch}.overview.answer"))
        assert talk.offer == f"more:{question.branch}.overview"
        assert card_of(body)[0] == WORDS.text(f"topics.{question.branch}.overview.title")


def test_overviews_name_their_options() -> None:
    expectations = {
        "causes": ["dehydration", "medicines", "pregnancy", "aging", "circulation"],
        "medications": ["water pills", "statins", "birth control", "albuterol"],
        "conditions": ["diabetes", "peripheral artery disease", "thyroid", "kidney", "MS"],
        "foods": ["potassium", "magnesium", "calcium"],
        "stretches": ["wall calf", "forward bend", "towel"],
    }
    for branch, names in expectations.items():
        text = WORDS.text(f"topics.{branch}.overview.answer")
        for name in names:
            assert name in text, f"{branch} overview does not name {name}"


SLOT_VALUES = [(q, value_id) for q in SLOTTED for value_id in WORDS.synonyms(str(q.slot_type))]


@pytest.mark.parametrize("question, value_id", SLOT_VALUES, ids=[f"{q.intent}-{v}" for q, v in SLOT_VALUES])
def test_each_resolved_slot_id_gets_its_topic(
    talk: Talk, question: questions.Question, value_id: str
) -> None:
    assert question.slot is not None
    # What was heard is deliberately odd: the resolved id is what counts.
    body = talk.intent(question.intent, {question.slot: "mumble"}, resolved={question.slot: value_id})
    path = questions.follow(WORDS, f"{question.branch}.{value_id}")
    assert said(body).startswith(WORDS.text(f"topics.{path}.answer"))
    assert talk.offer == f"more:{path}"
    assert card_of(body)[0] == WORDS.text(f"topics.{path}.title")


@pytest.mark.parametrize(
    "intent, slot, spoken, path",
    [
        ("MedicationIntent", "medication", "water pills", "medications.diuretics"),
        ("MedicationIntent", "medication", "blood pressure pills", "medications.diuretics"),
        ("MedicationIntent", "medication", "cholesterol medicine", "medications.statins"),
        ("MedicationIntent", "medication", "The Pill", "medications.birth_control"),
        ("MedicationIntent", "medication", "albuterol", "medications.asthma"),
        ("MedicationIntent", "medication", "inhaler", "medications.asthma"),
        ("ConditionIntent", "condition", "poor blood flow", "conditions.pad"),
        ("ConditionIntent", "condition", "Parkinson's", "conditions.neurological"),
        ("ConditionIntent", "condition", "MS", "conditions.neurological"),
        ("FoodsIntent", "mineral", "salt", "foods.sodium"),
        ("SupplementsIntent", "supplement", "vitamin D", "supplements.calcium"),
        ("SupplementsIntent", "supplement", "calcium and vitamin D", "supplements.calcium"),
        ("StretchIntent", "stretch", "hamstring stretch", "stretches.forward_bend"),
        ("StretchIntent", "stretch", "wall stretch", "stretches.wall_calf"),
        ("RedFlagIntent", "symptom", "pins and needles", "red_flags.numbness"),
        ("RedFlagIntent", "symptom", "warm", "red_flags.hot"),
        ("RedFlagIntent", "symptom", "every night", "red_flags.frequent"),
        ("RedFlagIntent", "symptom", "really bad", "red_flags.severe"),
        ("CausesIntent", "cause", "medications", "medications.overview"),
        ("CausesIntent", "cause", "underlying conditions", "conditions.overview"),
        # Words inside a longer phrase still find their topic.
        ("SupplementsIntent", "supplement", "magnesium spray", "supplements.magnesium"),
    ],
)
def test_raw_synonyms_without_resolution_find_the_topic(
    talk: Talk, intent: str, slot: str, spoken: str, path: str
) -> None:
    body = talk.intent(intent, {slot: spoken})
    assert said(body).startswith(WORDS.text(f"topics.{path}.answer"))


def test_an_unknown_value_is_named_escaped_and_answered_with_the_overview(talk: Talk) -> None:
    body = talk.intent("MedicationIntent", {"medication": "R&B <tablets>"})
    assert "R&amp;B &lt;tablets&gt;" in speech_of(body)
    spoken = said(body)
    assert spoken.startswith(WORDS.text("prompts.unknown_choice", value="R&B <tablets>"))
    assert WORDS.text("topics.medications.overview.answer") in spoken


def test_yes_after_an_answer_gives_the_more_part_then_asks_what_else(talk: Talk) -> None:
    talk.intent("MedicationIntent", {"medication": "statins"}, resolved={"medication": "statins"})
    body = talk.intent("AMAZON.YesIntent")
    assert said(body) == " ".join(
        [WORDS.text("topics.medications.statins.more"), WORDS.text("prompts.anything_else")]
    )
    assert talk.offer is None
    assert reprompt_of(body)


def test_no_after_an_answer_is_kind_and_asks_what_else(talk: Talk) -> None:
    talk.intent("WhatIsCrampIntent")
    body = talk.intent("AMAZON.NoIntent")
    assert said(body) == WORDS.text("prompts.no_thanks")
    assert body["response"]["shouldEndSession"] is False
    assert talk.offer is None


def test_stretches_offer_the_routine_after_more(talk: Talk) -> None:
    talk.intent("StretchIntent")
    body = talk.intent("AMAZON.YesIntent")
    assert said(body).endswith(WORDS.text("routine.offer"))
    assert talk.offer == "routine"
    body = talk.intent("AMAZON.NoIntent")
    assert said(body) == WORDS.text("prompts.no_thanks")


def test_prevention_offers_a_reminder_after_more_and_yes_asks_which(talk: Talk) -> None:
    talk.intent("PreventionIntent")
    body = talk.intent("AMAZON.YesIntent")
    assert said(body).endswith(WORDS.text("reminders.offer_after_prevention"))
    assert talk.offer == "reminder"
    body = talk.intent("AMAZON.YesIntent")
    [directive] = body["response"]["directives"]
    assert directive["type"] == "Dialog.ElicitSlot"
    assert directive["updatedIntent"]["name"] == "SetReminderIntent"
    assert directive["slotToElicit"] == "kind"


def test_a_new_question_replaces_the_pending_offer(talk: Talk) -> None:
    talk.intent("PreventionIntent")
    talk.intent("DoctorIntent")
    body = talk.intent("AMAZON.YesIntent")
    assert said(body).startswith(WORDS.text("topics.doctor.more"))


def test_every_supplement_answer_says_talk_to_your_doctor_and_only_magnesium_has_a_dose(talk: Talk) -> None:
    for value in (None, "magnesium", "potassium", "calcium"):
        slots = {"supplement": value} if value else None
        resolved = {"supplement": value} if value else None
        spoken = said(talk.intent("SupplementsIntent", slots, resolved=resolved))
        assert "doctor" in spoken
        assert ("milligrams" in spoken) == (value == "magnesium"), value


@pytest.mark.parametrize("value", ["diuretics", "statins", "birth_control", "asthma"])
def test_every_medication_answer_warns_not_to_stop_a_medicine(talk: Talk, value: str) -> None:
    spoken = said(talk.intent("MedicationIntent", {"medication": value}, resolved={"medication": value}))
    assert "after a new prescription, talk to your doctor." in spoken
    assert "Don't stop a medicine on your own." in spoken


@pytest.mark.parametrize("value", ["diabetes", "pad", "thyroid", "kidney", "neurological"])
def test_every_condition_answer_says_see_a_doctor(talk: Talk, value: str) -> None:
    spoken = said(talk.intent("ConditionIntent", {"condition": value}, resolved={"condition": value}))
    assert "If your cramps are frequent or worsening, see a doctor." in spoken


@pytest.mark.parametrize("symptom", ["red", "hot", "swollen"])
def test_red_hot_or_swollen_is_urgent_first_and_ends_the_session(
    client: FlaskClient, envelopes: Envelopes, symptom: str
) -> None:
    talk = Talk(client, envelopes)  # a first-time user: no disclaimer, nothing but the advice
    body = talk.intent("RedFlagIntent", {"symptom": symptom}, resolved={"symptom": symptom})
    spoken = said(body)
    assert spoken == WORDS.text(f"topics.red_flags.{symptom}.answer")
    assert "blood clot" in spoken and "medical help now" in spoken and "emergency services" in spoken
    assert body["response"]["shouldEndSession"] is True
    assert "reprompt" not in body["response"]
    assert talk.offer is None
    assert card_of(body)[1] == spoken


@pytest.mark.parametrize("symptom", ["weakness", "numbness", "frequent", "severe"])
def test_other_red_flags_say_see_a_doctor_soon_and_offer_nothing(talk: Talk, symptom: str) -> None:
    talk.intent("PreventionIntent")  # a pending offer must not survive a red flag
    body = talk.intent("RedFlagIntent", {"symptom": symptom}, resolved={"symptom": symptom})
    spoken = said(body)
    assert spoken.startswith(WORDS.text(f"topics.red_flags.{symptom}.answer"))
    assert "see a doctor soon" in spoken
    assert WORDS.text("routine.offer") not in spoken
    assert talk.offer is None
    assert body["response"]["shouldEndSession"] is False
    body = talk.intent("AMAZON.YesIntent")
    assert said(body) == WORDS.text("prompts.yes_no_unclear")


def test_a_red_flag_without_a_symptom_gives_both_kinds_of_advice(talk: Talk) -> None:
    spoken = said(talk.intent("RedFlagIntent"))
    assert "blood clot" in spoken and "get medical help now" in spoken and "see a doctor soon" in spoken


def test_a_red_flag_comes_before_the_first_time_disclaimer(client: FlaskClient, envelopes: Envelopes) -> None:
    talk = Talk(client, envelopes)
    spoken = said(talk.intent("RedFlagIntent", {"symptom": "weakness"}, resolved={"symptom": "weakness"}))
    assert spoken.startswith(WORDS.text("topics.red_flags.weakness.answer"))
    assert WORDS.text("prompts.disclaimer") not in spoken


def test_the_first_question_ever_carries_the_disclaimer_once(
    client: FlaskClient, envelopes: Envelopes
) -> None:
    talk = Talk(client, envelopes)
    first = said(talk.intent("WhatIsCrampIntent"))
    assert first.startswith(WORDS.text("prompts.disclaimer"))
    talk.new_session()
    second = said(talk.intent("WhatIsCrampIntent"))
    assert WORDS.text("prompts.disclaimer") not in second
    assert second.startswith(WORDS.text("topics.what_is.answer"))


@pytest.mark.parametrize("locale", ["en-GB", "en-CA", "en-AU", "en-IN"])
def test_every_english_locale_gets_answers(talk: Talk, locale: str) -> None:
    body = talk.intent("ReliefIntent", locale=locale)
    assert said(body).startswith(WORDS.text("topics.relief.answer"))
