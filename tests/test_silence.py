"""Where Alexa expects silence (skill events, CanFulfillIntent, SessionEnded, ExceptionEncountered,
anything outside a session) no failure is ever answered with speech."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.envelopes import Envelopes, said

SILENT_KINDS: dict[str, Callable[[Envelopes], dict[str, Any]]] = {
    "skill-disabled": lambda e: e.skill_event("AlexaSkillEvent.SkillDisabled"),
    "permission-accepted": lambda e: e.skill_event(
        "AlexaSkillEvent.SkillPermissionAccepted", {"acceptedPermissions": []}
    ),
    "can-fulfill": lambda e: e.can_fulfill("WhatIsCrampIntent"),
    "session-ended": lambda e: e.session_ended(),
    "exception-encountered": lambda e: e.exception_encountered(),
    "intent-outside-a-session": lambda e: e.intent("AMAZON.HelpIntent", with_session=False),
}


def no_speech(response: Any) -> bool:
    body = response.get_json() or {}
    return "outputSpeech" not in (body.get("response") or {}) and "reprompt" not in (
        body.get("response") or {}
    )


@pytest.mark.parametrize("kind", SILENT_KINDS.values(), ids=SILENT_KINDS.keys())
@pytest.mark.parametrize("broken", ["no-context", "null-system", "system-not-an-object"])
def test_an_envelope_the_sdk_cannot_start_on_is_refused_without_speech(
    client: FlaskClient, envelopes: Envelopes, kind: Callable[[Envelopes], dict[str, Any]], broken: str
) -> None:
    envelope = kind(envelopes)
    if broken == "no-context":
        del envelope["context"]
    else:
        envelope["context"]["System"] = None if broken == "null-system" else "x"
    response = client.post("/alexa", json=envelope)
    assert response.status_code == 400
    assert no_speech(response)


@pytest.fixture
def failing_serializer(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one step after the handlers, made to fail: only the endpoint's last guard is left."""
    serializer = app.extensions["cramp_coach"]["skill"].serializer

    def broken(obj: Any) -> Any:
        raise RuntimeError("serialisation failed")

    monkeypatch.setattr(serializer, "serialize", broken)


@pytest.mark.parametrize("kind", SILENT_KINDS.values(), ids=SILENT_KINDS.keys())
def test_a_failure_outside_the_handlers_stays_silent(
    client: FlaskClient,
    envelopes: Envelopes,
    failing_serializer: None,
    kind: Callable[[Envelopes], dict[str, Any]],
) -> None:
    envelope = kind(envelopes)
    response = client.post("/alexa", json=envelope)
    is_event = envelope["request"]["type"].startswith("AlexaSkillEvent.")
    assert response.status_code == (400 if is_event else 200)
    assert no_speech(response)


def test_a_failure_outside_the_handlers_in_a_conversation_is_an_apology(
    client: FlaskClient, envelopes: Envelopes, failing_serializer: None
) -> None:
    response = client.post("/alexa", json=envelopes.launch())
    assert response.status_code == 200
    assert "sorry" in said(response.get_json()).lower()


def test_a_handler_failure_on_can_fulfill_is_silent(client: FlaskClient, envelopes: Envelopes) -> None:
    envelope = envelopes.can_fulfill("CausesIntent", {"cause": "dehydration"})
    # A resolution Alexa would never send: the handler fails reading it.
    envelope["request"]["intent"]["slots"]["cause"]["resolutions"] = {
        "resolutionsPerAuthority": [
            {"authority": "x", "status": {"code": "ER_SUCCESS_MATCH"}, "values": [None]}
        ]
    }
    response = client.post("/alexa", json=envelope)
    assert response.status_code == 200
    assert no_speech(response)
