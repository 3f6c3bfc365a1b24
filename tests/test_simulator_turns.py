"""The simulator's server side: phrases resolved through the interaction model, time words turned
into Alexa's format, envelopes the real endpoint accepts, and the Settings API stand-in."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from flask.testing import FlaskClient

from skill.simulator.alexa_time import alexa_time
from skill.simulator.turns import resolve
from tests.test_simulator_page import server  # noqa: F401 (a fixture)

ZONE = "Australia/Adelaide"


@pytest.mark.parametrize(
    ("words", "sent"),
    [
        ("nine thirty pm", "21:30"),
        ("ten p m", "22:00"),
        ("eight fifteen a.m.", "08:15"),
        ("nine o'clock", "09:00"),
        ("nine oh five pm", "21:05"),
        ("twelve am", "00:00"),
        ("noon", "12:00"),
        ("midnight", "00:00"),
        ("evening", "EV"),
        ("at night", "NI"),
        ("930 pm", "21:30"),  # "9:30 p.m." once the matcher has dropped its punctuation
        ("9pm", "21:00"),
        ("21 30", "21:30"),
        ("21:30", "21:30"),
    ],
)
def test_time_words_become_what_alexa_sends(words: str, sent: str) -> None:
    assert alexa_time(words) == sent


@pytest.mark.parametrize("words", ["banana", "13 pm", "nine sixty", "25 00", "half past"])
def test_words_that_are_no_time_are_refused(words: str) -> None:
    assert alexa_time(words) is None


def test_the_invocation_opens_the_skill_or_carries_a_question() -> None:
    assert resolve("open cramp coach").request_type == "LaunchRequest"
    assert resolve("Alexa, launch Cramp Coach").request_type == "LaunchRequest"
    one_shot = resolve("ask cramp coach what is a leg cramp")
    assert (one_shot.request_type, one_shot.intent) == ("IntentRequest", "WhatIsCrampIntent")


def test_custom_slots_carry_their_ids_and_times_their_alexa_value() -> None:
    turn = resolve("remind me to stretch at nine thirty pm")
    assert turn.intent == "SetReminderIntent"
    assert (turn.heard["time"], turn.values["time"]) == ("nine thirty pm", "21:30")
    assert turn.ids["kind"] == "stretch"


def ask(client: FlaskClient, **body: Any) -> Any:
    payload = {
        "timeZone": ZONE,
        "userId": "amzn1.ask.account.SIM",
        "deviceId": "amzn1.ask.device.SIM",
        **body,
    }
    return client.post("/simulator/turn", json=payload)


def test_a_time_the_simulator_cannot_read_gets_a_clear_answer(client: FlaskClient) -> None:
    response = ask(client, phrase="remind me to stretch at banana")
    assert response.status_code == 422
    assert '"banana" is not a time the simulator can read the way Alexa would' in response.get_json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"phrase": "help", "timeZone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"phrase": "help", "locale": "fr-FR"}, "locale must be one of"),
        ({"phrase": "x" * 501}, "at most 500 characters"),
        ({"phrase": "help", "userId": ""}, "userId must be a short text"),
    ],
)
def test_bad_turns_are_refused_with_a_reason(client: FlaskClient, body: dict[str, Any], message: str) -> None:
    response = ask(client, **body)
    assert response.status_code == 422 and message in response.get_json()["error"]


def test_the_settings_api_stand_in_answers_the_pages_zone_to_this_machine_only(client: FlaskClient) -> None:
    path = "/simulator/api/v2/devices/amzn1.ask.device.SIM/settings/System.timeZone"
    good = {"Authorization": f"Bearer simulator-zone.{ZONE}"}
    assert client.get(path, headers=good).get_json() == ZONE
    assert client.get(path, headers=good, environ_base={"REMOTE_ADDR": "192.168.1.20"}).status_code == 403
    assert client.get(path, headers={"Authorization": "Bearer amzn-token"}).status_code == 401
    assert (
        client.get(path, headers={"Authorization": "Bearer simulator-zone.../etc/passwd"}).status_code == 400
    )


def post(url: str, payload: Any) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_an_elicited_time_continues_the_dialog_through_the_real_endpoint(server: str) -> None:  # noqa: F811
    who = {"timeZone": ZONE, "userId": "amzn1.ask.account.ELICIT", "deviceId": "amzn1.ask.device.E"}
    first = post(f"{server}/simulator/turn", {**who, "phrase": "remind me to stretch"})
    answer = post(f"{server}/alexa", first["envelope"])
    (elicit,) = [d for d in answer["response"]["directives"] if d["type"] == "Dialog.ElicitSlot"]
    assert elicit["slotToElicit"] == "time"

    session = {
        "id": first["envelope"]["session"]["sessionId"],
        "attributes": answer.get("sessionAttributes", {}),
    }
    pending = {
        "intent": elicit["updatedIntent"]["name"],
        "slot": "time",
        "slots": elicit["updatedIntent"]["slots"],
    }
    second = post(
        f"{server}/simulator/turn", {**who, "phrase": "nine thirty pm", "session": session, "elicit": pending}
    )
    assert second["resolved"]["intent"] == "SetReminderIntent"
    sent = second["envelope"]["request"]
    assert sent["dialogState"] == "IN_PROGRESS" and second["envelope"]["session"]["new"] is False
    assert sent["intent"]["slots"]["time"]["value"] == "21:30"
    assert sent["intent"]["slots"]["kind"]["value"] == "stretch"  # kept from the first turn

    done = post(f"{server}/alexa", second["envelope"])
    assert "9:30" in done["response"]["outputSpeech"]["ssml"]
    # The zone came from the stand-in, not from a guess: the skill says nothing about a missing one.
    assert "time zone" not in done["response"]["outputSpeech"]["ssml"].lower()


def test_words_no_sample_covers_go_to_the_fallback_intent_as_alexa_would_send_them() -> None:
    turn = resolve("xyzzy plugh")
    assert (turn.request_type, turn.intent) == ("IntentRequest", "AMAZON.FallbackIntent")
    assert turn.note == "no sample utterance matches these words"
