"""The whole path: a reminder set by voice over HTTP is delivered by `cramp-coach worker --once`.

Real parts throughout: the Flask endpoint and ask-sdk serializer, the database, the click CLI, the
dispatcher and the Alexa channel talking to the stub Alexa API on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from scheduler.channels import reference_id_for
from skill.cli import main as cli
from tests.conftest import Clock
from tests.envelopes import Envelopes, said
from tests.stubs.alexa_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

GRANTED = {
    "consentToken": "consent-token",
    "scopes": {"alexa::devices:all:notifications:write": {"status": "GRANTED"}},
}


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, alexa_stub: Any) -> None:
    for name, value in {
        "DATABASE_URL": sqlite_url,
        "ALEXA_CLIENT_ID": DEFAULT_CLIENT_ID,
        "ALEXA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "ALEXA_API_ENDPOINT": alexa_stub.url,
        "LWA_TOKEN_URL": alexa_stub.token_url,
        "ALEXA_SKILL_STAGE": "development",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REMINDER_WEBHOOK_URL", raising=False)


def worker_once(clock: Clock) -> Any:
    result = CliRunner().invoke(cli, ["worker", "--once"], obj={"clock": clock})
    assert result.exit_code == 0, result.output
    return result


def test_voice_reminder_delivered_once_at_its_local_time(
    app: Flask, envelopes: Envelopes, alexa_stub: Any, clock: Clock, worker_env: None
) -> None:
    # Monday 23 November 2026, 20:00 in Berlin (UTC+1).
    clock.now = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    envelopes.api_endpoint = alexa_stub.url
    envelopes.permissions = GRANTED
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "Europe/Berlin")
    client = app.test_client()

    envelope = envelopes.intent(
        "SetReminderIntent",
        {"kind": "stretch", "time": "21:30", "days": "every night"},
        resolved={"kind": "stretch", "days": "every_day"},
    )
    question = client.post("/alexa", data=json.dumps(envelope), content_type="application/json").get_json()
    assert "9:30 PM" in said(question)
    yes = envelopes.intent("AMAZON.YesIntent", session_attributes=question["sessionAttributes"])
    body = client.post("/alexa", json=yes).get_json()
    assert "9:30 PM" in said(body)
    [reminder] = app.extensions["cramp_coach"]["services"].reminders.list(Envelopes.USER_ID)
    occurrence = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 21:30 in Berlin
    assert reminder.next_fire_at == occurrence

    # A minute early: nothing goes out.
    clock.now = occurrence - timedelta(minutes=1)
    worker_once(clock)
    assert alexa_stub.events == []

    # On time: exactly one notification, for this user and this occurrence.
    clock.now = occurrence + timedelta(seconds=2)
    worker_once(clock)
    [event] = alexa_stub.events
    assert event["user"] == Envelopes.USER_ID
    assert event["reference_id"] == reference_id_for(reminder.id, occurrence)
    assert event["body"]["event"]["name"] == "AMAZON.MessageAlert.Activated"
    assert event["body"]["relevantAudience"] == {"type": "Unicast", "payload": {"user": Envelopes.USER_ID}}
    assert event["stage"] == "development"

    # Another tick at the same moment sends nothing more; tomorrow's occurrence is scheduled.
    worker_once(clock)
    assert len(alexa_stub.events) == 1
    [after] = app.extensions["cramp_coach"]["services"].reminders.list(Envelopes.USER_ID)
    assert after.next_fire_at == occurrence + timedelta(days=1)

    # The next time the user opens the skill, it greets them with the reminder's purpose.
    launch = client.post("/alexa", json=envelopes.launch(new=True)).get_json()
    assert "time for your bedtime stretches" in said(launch)
    again = client.post("/alexa", json=envelopes.launch(new=True)).get_json()
    assert "time for your bedtime stretches" not in said(again), "the greeting is said once"


def test_paused_reminder_is_not_delivered_until_permission_arrives(
    app: Flask, envelopes: Envelopes, alexa_stub: Any, clock: Clock, worker_env: None
) -> None:
    clock.now = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    envelopes.api_endpoint = alexa_stub.url
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "Europe/Berlin")
    client = app.test_client()
    envelope = envelopes.intent(
        "SetReminderIntent", {"kind": "water", "time": "21:00"}, resolved={"kind": "water"}
    )
    question = client.post("/alexa", json=envelope).get_json()
    yes = envelopes.intent("AMAZON.YesIntent", session_attributes=question["sessionAttributes"])
    assert "paused" in said(client.post("/alexa", json=yes).get_json())

    clock.now = datetime(2026, 11, 23, 20, 0, 30, tzinfo=UTC)  # 21:00:30 in Berlin
    worker_once(clock)
    assert alexa_stub.events == []

    grant = envelopes.skill_event(
        "AlexaSkillEvent.SkillPermissionAccepted",
        {"acceptedPermissions": [{"scope": "alexa::devices:all:notifications:write"}]},
    )
    assert client.post("/alexa", json=grant).status_code == 200
    # Resumed from now: tonight's missed time is not replayed; tomorrow's is delivered.
    worker_once(clock)
    assert alexa_stub.events == []
    clock.now = datetime(2026, 11, 24, 20, 0, 5, tzinfo=UTC)
    worker_once(clock)
    assert [e["user"] for e in alexa_stub.events] == [Envelopes.USER_ID]
