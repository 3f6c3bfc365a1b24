"""Mutated request envelopes through the real endpoint: never a 5xx, well-formed SSML on every 200,
and silence wherever Alexa expects it.

Hypothesis builds 2,000 envelopes (derandomised, so every run and CI send the same ones) from
real ones: fields replaced with hostile values (control characters, lone surrogates, huge
numbers, 9,000-character text, wrong types, deep nesting), fields deleted, keys added. Each body is
signed with the test PKI, so it goes the whole way: verification, the SDK, the handlers, SQLite.
apiEndpoint is never mutated: the only API the skill may call is the stub on 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill.request_kinds import SILENT_TYPES, is_event
from skill.speech import MAX_SPEECH_CHARS
from tests.certs import make_pki, signed_headers
from tests.envelopes import Envelopes

EXAMPLES = int(__import__("os").environ.get("FUZZ_EXAMPLES", "2000"))
GRANTED = {
    "consentToken": "consent-token",
    "scopes": {"alexa::devices:all:notifications:write": {"status": "GRANTED"}},
}
PROTECTED = "apiEndpoint"

BASES: list[Callable[[Envelopes], dict[str, Any]]] = [
    lambda e: e.launch(),
    lambda e: e.intent("WhatIsCrampIntent"),
    lambda e: e.intent("CausesIntent", {"cause": "dehydration"}, resolved={"cause": "dehydration"}),
    lambda e: e.intent("SupplementsIntent", {"supplement": "magnesium pills"}),
    lambda e: e.intent("SetReminderIntent", {"kind": "stretch", "time": "21:30", "days": "every night"}),
    lambda e: e.intent("MoveReminderIntent", {"kind": "water", "time": "10:00", "fromTime": "09:00"}),
    lambda e: e.intent("CancelAllRemindersIntent", confirmation="CONFIRMED"),
    lambda e: e.intent("ListRemindersIntent"),
    lambda e: e.intent("StartRoutineIntent"),
    lambda e: e.intent("AMAZON.YesIntent", session_attributes={"offer": "more:causes.dehydration"}),
    lambda e: e.intent("AMAZON.NoIntent", session_attributes={"offer": "cancel:stretch"}),
    lambda e: e.intent("AMAZON.StopIntent", session_attributes={"routine_step": 1}),
    lambda e: e.intent("AMAZON.FallbackIntent"),
    lambda e: e.can_fulfill("CausesIntent", {"cause": "dehydration"}),
    lambda e: e.session_ended("ERROR"),
    lambda e: e.exception_encountered(),
    lambda e: e.skill_event(
        "AlexaSkillEvent.SkillPermissionAccepted", {"acceptedPermissions": [{"scope": "x"}]}
    ),
    lambda e: e.skill_event("AlexaSkillEvent.ProactiveSubscriptionChanged", {"subscriptions": []}),
    lambda e: e.skill_event("AlexaSkillEvent.SkillDisabled"),
    lambda e: e.skill_event("AlexaSkillEvent.SkillEnabled"),
    lambda e: e.skill_event("Reminders.ReminderDeleted", {"alertTokens": ["amzn1.alert.reminder.x"]}),
    lambda e: e.envelope(
        {
            "type": "Messaging.MessageReceived",
            "message": {
                "action": "place",
                "reminder": "1",
                "occurrence": "2026-11-23T20:30:00Z",
                "reference": "r",
            },
        },
        with_session=False,
    ),
    lambda e: e.intent(
        "AMAZON.YesIntent",
        session_attributes={
            "offer": "set:reminder",
            "pending_reminder": {
                "kind": "water",
                "times": ["10:00"],
                "days": 127,
                "zone": "UTC",
                "spoken": None,
            },
        },
    ),
    lambda e: e.intent("PauseRemindersIntent", {"duration": "P1W", "kind": "stretch"}),
]
REQUEST_TYPES = [
    "LaunchRequest",
    "IntentRequest",
    "SessionEndedRequest",
    "CanFulfillIntentRequest",
    "System.ExceptionEncountered",
    "AlexaSkillEvent.SkillDisabled",
    "AlexaSkillEvent.SkillPermissionChanged",
    "AlexaSkillEvent.ProactiveSubscriptionChanged",
    "AlexaSkillEvent.NotOneWeKnow",
    "Messaging.MessageReceived",
    "Reminders.ReminderDeleted",
    "Connections.Response",
    "Display.ElementSelected",
]

hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp", "Co"]), max_size=20),
    st.sampled_from(
        [
            "",
            "\x00",
            "\x01night",
            "\ud800",
            "\udfff\ud800",
            "\ufffe",
            "]]><speak>",
            "<break time='100s'/>",
            "&amp;&",
            "x" * 9_000,
            "every " * 1_500,
            "2026-02-30T25:61:00Z",
            "NaN",
            "AlexaSkillEvent.SkillDisabled",
            "amzn1.ask.account.\n FORGED",
        ]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(hostile_text.filter(lambda k: k != PROTECTED), inner, max_size=3),
    ),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            if key != PROTECTED:
                found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def mutate(envelope: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    mutated = copy.deepcopy(envelope)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        targets = paths(mutated)
        if not targets:
            break
        path = data.draw(st.sampled_from(targets), label="path")
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = data.draw(st.sampled_from(["replace", "delete", "add", "type"]), label="action")
        if action == "replace" or (action == "delete" and isinstance(parent, list)):
            parent[last] = data.draw(values, label="value")
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(hostile_text.filter(lambda k: k != PROTECTED), label="key")] = data.draw(values)
        elif isinstance(mutated.get("request"), dict):
            mutated["request"]["type"] = data.draw(st.sampled_from(REQUEST_TYPES), label="type")
    return mutated


def check_ssml(ssml: Any) -> None:
    assert isinstance(ssml, str) and len(ssml) <= MAX_SPEECH_CHARS
    assert ET.fromstring(ssml).tag == "speak"


@pytest.fixture
def signed_app(make_app: Callable[..., Flask]) -> tuple[Flask, Any]:
    pki = make_pki()
    return make_app(ALEXA_VERIFY_REQUESTS="true", VERIFIER_ROOTS=[pki.root], CERT_FETCH=pki.fetch), pki


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_mutated_envelopes_never_break_the_endpoint(
    signed_app: tuple[Flask, Any], envelopes: Envelopes, alexa_stub: Any, data: st.DataObject
) -> None:
    app, pki = signed_app
    envelopes.api_endpoint = alexa_stub.url
    envelopes.permissions = GRANTED
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "America/New_York")
    base = data.draw(st.sampled_from(BASES), label="base")(envelopes)
    envelope = mutate(base, data)
    body = json.dumps(envelope).encode()
    response = app.test_client().post(
        "/alexa", data=body, headers={**signed_headers(pki, body), "Content-Type": "application/json"}
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    answer = response.get_json()
    if response.status_code != 200:
        assert isinstance(answer.get("error"), str)
        return
    speech = (answer.get("response") or {}).get("outputSpeech")
    reprompt = ((answer.get("response") or {}).get("reprompt") or {}).get("outputSpeech")
    for said in (speech, reprompt):
        if said is not None:
            check_ssml(said.get("ssml"))
    request_type = envelope["request"]["type"]
    if is_event(request_type) or request_type in SILENT_TYPES:
        assert speech is None and reprompt is None, f"{request_type} answered with speech"
