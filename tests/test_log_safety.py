"""Nothing from a request can forge or flood a log line, and no token or body is ever logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.envelopes import Envelopes

FORGED = "\nCRITICAL root: forged line"
HUGE = "amzn1.echo-api.request." + "x" * 60_000
TOKEN = "eyJ-SECRET-API-ACCESS-TOKEN-0123456789"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def assert_safe(records: list[logging.LogRecord]) -> None:
    assert records, "the request was logged"
    for record in records:
        message = record.getMessage()
        first, *rest = message.split("\n")
        # A record may carry a stack (its frames are code), but request text never starts a line.
        assert all(line.startswith(("Traceback", "  ")) for line in rest), message[:500]
        assert "forged line" not in "\n".join(rest)
        assert len(first) < 1_000, f"{len(first)} characters: {first[:200]}"
        assert TOKEN not in message
        assert record.exc_info is None, "exception text (which may quote the request) is not logged raw"


def post(client: FlaskClient, envelope: dict[str, Any]) -> Any:
    return client.post("/alexa", json=envelope)


@pytest.mark.parametrize("request_id", [f"amzn1.echo-api.request.1{FORGED}", HUGE], ids=["newline", "60-kb"])
def test_a_refused_request_id_is_logged_escaped_and_cut(
    client: FlaskClient, envelopes: Envelopes, logs: pytest.LogCaptureFixture, request_id: str
) -> None:
    envelope = envelopes.launch()
    envelope["request"]["requestId"] = request_id
    envelope["request"]["timestamp"] = "2020-01-01T00:00:00Z"
    assert post(client, envelope).status_code == 400
    assert_safe(logs.records)
    assert any("chars)" in r.getMessage() or "\\x0a" in r.getMessage() for r in logs.records)


@pytest.mark.parametrize("request_id", [f"amzn1.echo-api.request.1{FORGED}", HUGE], ids=["newline", "60-kb"])
def test_an_answered_request_with_a_hostile_id_logs_safely(
    client: FlaskClient, envelopes: Envelopes, logs: pytest.LogCaptureFixture, request_id: str
) -> None:
    """Fallback (intent name), session-end error text and a failing handler all log request text."""
    unknown = envelopes.intent(f"NoSuchIntent{FORGED}")
    unknown["request"]["requestId"] = request_id
    assert post(client, unknown).status_code == 200
    ended = envelopes.session_ended("ERROR")
    ended["request"]["requestId"] = request_id + "-2"
    ended["request"]["error"] = {"type": "INTERNAL_SERVICE_ERROR", "message": f"bad{FORGED}" + "y" * 500}
    assert post(client, ended).status_code == 200
    refused = envelopes.exception_encountered()
    refused["request"]["cause"]["requestId"] = request_id
    assert post(client, refused).status_code == 200
    assert_safe(logs.records)


def test_the_sdk_error_text_with_the_access_token_is_never_logged(
    client: FlaskClient, envelopes: Envelopes, logs: pytest.LogCaptureFixture
) -> None:
    envelope = envelopes.launch()
    envelope["context"]["System"]["apiAccessToken"] = TOKEN
    # A field the SDK must read as a number holds text with the token: the SDK's message for that
    # quotes the text whole (other paths of it quote the whole body).
    envelope["context"]["Viewport"] = {"pixelWidth": f"{TOKEN}{FORGED}"}
    response = post(client, envelope)
    assert response.status_code == 400
    assert response.get_json() == {"error": "request envelope could not be read"}
    assert_safe(logs.records)
    assert any("SerializationException" in r.getMessage() for r in logs.records), "the class is named"
