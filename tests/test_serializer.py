"""The envelope serializer reads every request exactly as the SDK's own serializer does, faster."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import dateutil.parser
import pytest
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from flask import Flask

from skill.endpoint import EXTENSION
from skill.serializer import CLASS_HOOK, DATETIME_HOOK, MODEL_HOOK, EnvelopeSerializer
from tests.envelopes import Envelopes

SDK = DefaultSerializer()


def requests(envelopes: Envelopes) -> list[dict[str, Any]]:
    """One of every kind of request the skill serves, with the fields that become models."""
    envelopes.permissions = {
        "consentToken": "token",
        "scopes": {"alexa::devices:all:notifications:write": {"status": "GRANTED"}},
    }
    return [
        envelopes.launch(),
        envelopes.intent(
            "CausesIntent",
            {"cause": "sitting all day"},
            resolved={"cause": "sedentary"},
            session_attributes={"offer": "more:causes", "routine_step": 2},
        ),
        envelopes.intent("SetReminderIntent", {"kind": "stretch", "time": "21:30", "days": None}),
        envelopes.session_ended("ERROR"),
        envelopes.can_fulfill("CausesIntent", {"cause": "dehydration"}),
        envelopes.exception_encountered(),
        envelopes.skill_event(
            "AlexaSkillEvent.ProactiveSubscriptionChanged",
            {"subscriptions": [{"eventName": "AMAZON.MessageAlert.Activated"}]},
        ),
        envelopes.skill_event(
            "AlexaSkillEvent.SkillPermissionAccepted",
            {"acceptedPermissions": [{"scope": "alexa::devices:all:notifications:write"}]},
        ),
    ]


def test_every_request_reads_the_same_as_with_the_sdk_serializer(envelopes: Envelopes) -> None:
    fast = EnvelopeSerializer()
    for payload in requests(envelopes):
        ours = fast.envelope(json.loads(json.dumps(payload)))
        theirs = SDK.deserialize(json.dumps(payload), RequestEnvelope)
        assert type(ours.request) is type(theirs.request)
        assert ours == theirs, payload["request"]["type"]
        assert SDK.serialize(ours) == SDK.serialize(theirs)


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-05T21:30:00Z",
        "2026-11-05T21:30:00.123Z",
        "2026-11-05T21:30:00+00:00",
        "2026-11-05T22:30:00+01:00",
        "2026-11-05T21:30:00",
    ],
)
def test_iso_timestamps_parse_to_the_same_datetime_as_dateutil(stamp: str) -> None:
    ours = getattr(EnvelopeSerializer(), DATETIME_HOOK)(stamp, datetime)
    assert ours == dateutil.parser.parse(stamp)
    assert ours.utcoffset() == dateutil.parser.parse(stamp).utcoffset()


def test_the_fast_path_does_not_call_dateutil(envelopes: Envelopes, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("dateutil called for an ISO 8601 timestamp")

    monkeypatch.setattr(dateutil.parser, "parse", refuse)
    payload = envelopes.skill_event("AlexaSkillEvent.SkillEnabled")
    envelope = EnvelopeSerializer().envelope(payload)
    assert envelope.request.timestamp.tzinfo is not None
    assert isinstance(envelope.request.event_creation_time, datetime)


def test_anything_else_dateutil_accepted_is_still_accepted() -> None:
    parse = getattr(EnvelopeSerializer(), DATETIME_HOOK)
    assert parse("Thu, 05 Nov 2026 21:30:00 GMT", datetime) == datetime(2026, 11, 5, 21, 30, tzinfo=UTC)
    assert parse("2026-11-05", date) == date(2026, 11, 5)
    assert parse("2026-11-05T21:30:00-05:00", datetime).utcoffset() == -timedelta(hours=5)
    assert parse("2026-11-05T21:30:00-05:00", datetime).tzinfo == timezone(-timedelta(hours=5))


def test_an_unreadable_timestamp_is_refused_as_the_sdk_refuses_it(envelopes: Envelopes) -> None:
    payload = envelopes.launch()
    payload["request"]["timestamp"] = "not a time at all"
    with pytest.raises(SerializationException):
        EnvelopeSerializer().envelope(payload)
    with pytest.raises(SerializationException):
        SDK.deserialize(json.dumps(payload), RequestEnvelope)


def test_the_sdk_still_has_the_hooks_this_relies_on() -> None:
    # A rename in a new SDK release would silently bring back the slow path; this fails instead.
    for hook in (DATETIME_HOOK, CLASS_HOOK, MODEL_HOOK):
        assert callable(getattr(DefaultSerializer, hook, None)), hook
        assert hook in vars(DefaultSerializer)


def test_model_classes_are_looked_up_once(envelopes: Envelopes, monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []
    sdk_lookup = getattr(DefaultSerializer, CLASS_HOOK)

    def counting(self: DefaultSerializer, class_name: str) -> Any:
        lookups.append(class_name)
        return sdk_lookup(self, class_name)

    monkeypatch.setattr(DefaultSerializer, CLASS_HOOK, counting)
    serializer = EnvelopeSerializer()
    serializer.envelope(envelopes.launch())
    first = list(lookups)
    assert any(name.endswith("LaunchRequest") for name in first)
    assert len(first) == len(set(first)), "each class looked up once"
    serializer.envelope(envelopes.launch())
    assert lookups == first, "the second request needs no lookup"


def test_the_skill_reads_requests_with_it(app: Flask) -> None:
    skill = app.extensions[EXTENSION]["skill"]
    assert isinstance(skill.serializer, EnvelopeSerializer)
