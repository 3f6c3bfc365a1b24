"""Skill events over HTTP: disable forgets the user, permission and subscription changes."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from scheduler.models import Base
from tests.conftest import Clock
from tests.envelopes import Envelopes

SCOPE = "alexa::devices:all:notifications:write"


def reminders_of(app: Flask) -> Any:
    return app.extensions["cramp_coach"]["services"].reminders


def row_counts(app: Flask) -> dict[str, int]:
    engine = app.extensions["cramp_coach"]["services"].engine
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def event(envelopes: Envelopes, kind: str, body: dict[str, Any] | None, at: datetime) -> dict[str, Any]:
    envelope = envelopes.skill_event(f"AlexaSkillEvent.{kind}", body)
    envelope["request"]["eventCreationTime"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return envelope


def test_skill_disabled_leaves_no_row_of_that_user(
    app: Flask, client: FlaskClient, envelopes: Envelopes
) -> None:
    service = reminders_of(app)
    service.add(
        Envelopes.USER_ID, "stretch", [time(21, 30)], time_zone="Europe/Berlin", notifications_allowed=True
    )
    service.add("amzn1.ask.account.OTHER", "water", [time(10)], time_zone="Europe/Berlin")
    # Some skill state for the user, written through the persistence adapter by a real launch.
    assert client.post("/alexa", json=envelopes.launch()).status_code == 200
    before = row_counts(app)
    assert before["users"] == 2 and before["reminders"] == 2

    response = client.post("/alexa", json=envelopes.skill_event("AlexaSkillEvent.SkillDisabled"))
    assert response.status_code == 200
    assert "outputSpeech" not in response.get_json()["response"]

    engine = app.extensions["cramp_coach"]["services"].engine
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(select(table)).mappings().all()
            for row in rows:
                assert Envelopes.USER_ID not in {str(v) for v in row.values()}, f"{table.name} kept {row}"
    after = row_counts(app)
    assert after["users"] == 1 and after["reminders"] == 1, "the other user is untouched"


def test_subscription_changes_newest_timestamp_wins(
    app: Flask, client: FlaskClient, envelopes: Envelopes, clock: Clock
) -> None:
    service = reminders_of(app)
    service.add(Envelopes.USER_ID, "stretch", [time(21, 30)], time_zone="UTC", notifications_allowed=True)
    t0 = clock()
    off = event(envelopes, "ProactiveSubscriptionChanged", {"subscriptions": []}, t0)
    on_older = event(
        envelopes,
        "ProactiveSubscriptionChanged",
        {"subscriptions": [{"eventName": "AMAZON.MessageAlert.Activated"}]},
        t0 - timedelta(minutes=5),
    )
    # The request timestamp orders subscription events (the SDK model has no creation time for them).
    off["request"]["timestamp"] = t0.strftime("%Y-%m-%dT%H:%M:%SZ")
    on_older["request"]["timestamp"] = (t0 - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.post("/alexa", json=off).status_code == 200
    assert service.list(Envelopes.USER_ID)[0].paused
    assert client.post("/alexa", json=on_older).status_code == 200
    assert service.list(Envelopes.USER_ID)[0].paused, "an older event must not undo a newer one"
    on_newer = event(
        envelopes,
        "ProactiveSubscriptionChanged",
        {"subscriptions": [{"eventName": "AMAZON.MessageAlert.Activated"}]},
        t0,
    )
    on_newer["request"]["timestamp"] = (t0 + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.post("/alexa", json=on_newer).status_code == 200
    assert not service.list(Envelopes.USER_ID)[0].paused


def test_permission_changed_withdrawn_pauses_and_accepted_resumes(
    app: Flask, client: FlaskClient, envelopes: Envelopes, clock: Clock
) -> None:
    service = reminders_of(app)
    service.add(Envelopes.USER_ID, "water", [time(10)], time_zone="Asia/Kolkata", notifications_allowed=True)
    t0 = clock()
    withdrawn = event(envelopes, "SkillPermissionChanged", {"acceptedPermissions": []}, t0)
    assert client.post("/alexa", json=withdrawn).status_code == 200
    assert service.list(Envelopes.USER_ID)[0].paused
    stale_grant = event(
        envelopes,
        "SkillPermissionAccepted",
        {"acceptedPermissions": [{"scope": SCOPE}]},
        t0 - timedelta(seconds=10),
    )
    assert client.post("/alexa", json=stale_grant).status_code == 200
    assert service.list(Envelopes.USER_ID)[0].paused
    grant = event(
        envelopes,
        "SkillPermissionAccepted",
        {"acceptedPermissions": [{"scope": SCOPE}]},
        t0 + timedelta(seconds=10),
    )
    assert client.post("/alexa", json=grant).status_code == 200
    [reminder] = service.list(Envelopes.USER_ID)
    assert not reminder.paused
    assert reminder.next_fire_at > clock(), "resumed from now: no backlog"


def test_event_an_hour_old_is_accepted_but_older_refused(
    client: FlaskClient, envelopes: Envelopes, clock: Clock
) -> None:
    envelope = envelopes.skill_event("AlexaSkillEvent.SkillEnabled")
    envelope["request"]["timestamp"] = (clock() - timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.post("/alexa", json=envelope).status_code == 200
    envelope["request"]["timestamp"] = (clock() - timedelta(minutes=70)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.post("/alexa", json=envelope).status_code == 400


def test_event_not_stored_gets_503_so_alexa_redelivers(
    make_app: Any, envelopes: Envelopes, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/missing/x.db")
    with caplog.at_level(logging.ERROR):
        response = app.test_client().post(
            "/alexa", json=envelopes.skill_event("AlexaSkillEvent.SkillDisabled")
        )
    assert response.status_code == 503
    assert "retry" in response.get_json()["error"]
    assert any("asking Alexa to redeliver" in r.getMessage() for r in caplog.records)


# --- Events that can never succeed get 400 (not redelivered for nothing); only storage gets 503 ----


@pytest.mark.parametrize(
    "kind, body",
    [
        ("SkillPermissionAccepted", {"acceptedPermissions": [None]}),
        ("SkillPermissionChanged", {"acceptedPermissions": "alexa::devices:all:notifications:write"}),
        ("SkillPermissionChanged", {"acceptedPermissions": [{"scope": 5}]}),
        ("SkillPermissionAccepted", "not an object"),
        ("ProactiveSubscriptionChanged", {"subscriptions": [None]}),
        ("ProactiveSubscriptionChanged", {"subscriptions": {"eventName": "AMAZON.MessageAlert.Activated"}}),
    ],
)
def test_a_malformed_event_body_is_400_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    envelopes: Envelopes,
    kind: str,
    body: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = reminders_of(app)
    service.add(Envelopes.USER_ID, "water", [time(10)], time_zone="UTC", notifications_allowed=True)
    with caplog.at_level(logging.WARNING, logger="skill.endpoint"):
        envelope = envelopes.skill_event(f"AlexaSkillEvent.{kind}")
        envelope["request"]["body"] = body
        response = client.post("/alexa", json=envelope)
    assert response.status_code == 400
    assert "skill event body" in response.get_json()["error"]
    assert any("refused request" in r.getMessage() for r in caplog.records)
    assert not service.list(Envelopes.USER_ID)[0].paused, "a malformed event withdraws nothing"


@pytest.mark.parametrize("user", ["amzn1.ask.account.\ud800", "", None])
def test_an_event_whose_user_cannot_be_stored_is_400(
    client: FlaskClient, envelopes: Envelopes, user: Any
) -> None:
    envelope = envelopes.skill_event("AlexaSkillEvent.SkillDisabled")
    envelope["context"]["System"]["user"]["userId"] = user
    response = client.post("/alexa", json=envelope)
    assert response.status_code == 400


def test_a_nul_in_a_user_id_is_400_on_postgresql(
    make_app: Any, postgres_url: str, envelopes: Envelopes
) -> None:
    # PostgreSQL refuses NUL in text (a DataError): the same every time, so not a storage failure.
    client = make_app(DATABASE_URL=postgres_url).test_client()
    envelope = envelopes.skill_event("AlexaSkillEvent.SkillDisabled")
    envelope["context"]["System"]["user"]["userId"] = "amzn1.ask.account.A\x00B"
    assert client.post("/alexa", json=envelope).status_code == 400


def test_an_event_type_the_skill_does_not_use_is_acknowledged(
    client: FlaskClient, envelopes: Envelopes
) -> None:
    response = client.post("/alexa", json=envelopes.skill_event("AlexaSkillEvent.SkillAccountLinked"))
    assert response.status_code == 200
    assert "outputSpeech" not in response.get_json()["response"]
