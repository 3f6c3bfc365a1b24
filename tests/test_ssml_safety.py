"""SSML built from user words stays well-formed XML and within Alexa's 8,000 characters."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask.testing import FlaskClient

from skill import speech
from tests.envelopes import Envelopes, speech_of

GRANTED = {
    "consentToken": "consent-token",
    "scopes": {"alexa::devices:all:notifications:write": {"status": "GRANTED"}},
}
HOSTILE_WORDS = [
    "every \x01night",
    "every night\x00",
    "every \x0b\x0c\x1f night",
    "every \ufffe\uffff night",
    "every ]]> & <speak> night",
    "every " + "night " * 1500,  # 9,000 characters
]


def well_formed(response: dict[str, Any]) -> str:
    ssml = speech_of(response)
    assert len(ssml) <= speech.MAX_SPEECH_CHARS
    root = ET.fromstring(ssml)
    assert root.tag == "speak"
    reprompt = response["response"].get("reprompt")
    if reprompt:
        ET.fromstring(reprompt["outputSpeech"]["ssml"])
    return ssml


@pytest.mark.parametrize(
    "text", ["a\x01b", "nul\x00", "\ud800lone", "\ufffe\uffff", "\x1b[31m", "\x7f\x85ok"]
)
def test_escape_leaves_only_characters_xml_allows(text: str) -> None:
    ET.fromstring(f"<speak>{speech.escape(text)}</speak>")


def test_escape_keeps_tabs_newlines_and_every_real_letter() -> None:
    text = "crème\tbrûlée\n😀 中文 Tom & Jerry"
    assert speech.plain(f"<speak>{speech.escape(text)}</speak>") == "crème brûlée 😀 中文 Tom & Jerry"


def test_speech_past_alexas_limit_is_refused() -> None:
    assert (
        len(speech.speak("a" * (speech.MAX_SPEECH_CHARS - len("<speak></speak>")))) == speech.MAX_SPEECH_CHARS
    )
    with pytest.raises(speech.SpeechTooLong):
        speech.speak("a" * speech.MAX_SPEECH_CHARS)


@pytest.mark.parametrize("spoken", HOSTILE_WORDS, ids=range(len(HOSTILE_WORDS)))
def test_a_topic_the_skill_does_not_know_is_echoed_safely(
    client: FlaskClient, envelopes: Envelopes, spoken: str
) -> None:
    envelope = envelopes.intent("CausesIntent", {"cause": spoken.replace("every", "zork")})
    response = client.post("/alexa", json=envelope)
    assert response.status_code == 200
    ssml = well_formed(response.get_json())
    assert "zork" in ssml, "the words are still read back (cut short, not replaced by an apology)"


@pytest.mark.parametrize("spoken", HOSTILE_WORDS, ids=range(len(HOSTILE_WORDS)))
def test_the_days_a_reminder_was_set_for_are_echoed_safely(
    client: FlaskClient, envelopes: Envelopes, alexa_stub: Any, spoken: str
) -> None:
    envelopes.api_endpoint = alexa_stub.url
    envelopes.permissions = GRANTED
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "America/New_York")
    envelope = envelopes.intent("SetReminderIntent", {"kind": "stretch", "time": "21:30", "days": spoken})
    response = client.post("/alexa", json=envelope)
    assert response.status_code == 200
    ssml = well_formed(response.get_json())
    assert "every" in ssml
    listed = client.post("/alexa", json=envelopes.intent("ListRemindersIntent"))
    well_formed(listed.get_json())
