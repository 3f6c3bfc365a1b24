"""The /alexa endpoint's handling of bad input, and /healthz, over HTTP."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.envelopes import Envelopes, speech_of


def post(client: FlaskClient, body: Any, **kw: Any) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/alexa", data=data, content_type="application/json", **kw)


def test_launch_speaks_and_keeps_session_open(client: FlaskClient, envelopes: Envelopes) -> None:
    response = post(client, envelopes.launch())
    assert response.status_code == 200
    body = response.get_json()
    assert body["version"] == "1.0"
    assert speech_of(body).startswith("<speak>")
    assert body["response"]["shouldEndSession"] is False
    assert body["response"]["reprompt"]["outputSpeech"]["ssml"].startswith("<speak>")


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "no request object"),
        (json.dumps({"version": "1.0", "request": {"type": "LaunchRequest"}}), "request.requestId"),
    ],
)
def test_malformed_bodies_get_400_with_reason(
    client: FlaskClient, body: bytes | str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="skill.endpoint"):
        response = post(client, body)
    assert response.status_code == 400
    assert reason in response.get_json()["error"]
    assert any("refused request" in r.getMessage() for r in caplog.records)


def test_body_over_64_kib_gets_413(client: FlaskClient, envelopes: Envelopes) -> None:
    envelope = envelopes.launch()
    envelope["padding"] = "x" * (64 * 1024)
    response = post(client, envelope)
    assert response.status_code == 413
    assert "too large" in response.get_json()["error"]


def test_wrong_skill_id_refused_even_without_signature_checks(
    client: FlaskClient, envelopes: Envelopes
) -> None:
    envelope = envelopes.launch()
    envelope["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.someone-else"
    response = post(client, envelope)
    assert response.status_code == 400
    assert "skill id" in response.get_json()["error"].lower() or "application" in response.get_json()["error"]


def test_stale_timestamp_refused_without_signature_checks(client: FlaskClient, envelopes: Envelopes) -> None:
    envelope = envelopes.launch()
    envelope["request"]["timestamp"] = "2020-01-01T00:00:00Z"
    assert post(client, envelope).status_code == 400


def test_get_on_alexa_is_405_json(client: FlaskClient) -> None:
    response = client.get("/alexa")
    assert response.status_code == 405
    assert "error" in response.get_json()


def test_healthz_reports_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable(make_app: Any, tmp_path: Any) -> None:
    app: Flask = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/nope.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
