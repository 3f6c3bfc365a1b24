"""Signed requests through the real endpoint: verification on, trust rooted in a generated CA."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.certs import TestPKI, make_pki, signed_headers
from tests.conftest import Clock
from tests.envelopes import Envelopes, said


class Fetcher:
    """Serves every test chain by URL and counts downloads."""

    def __init__(self, *pkis: TestPKI) -> None:
        self.chains = {p.cert_url: p.chain_pem for p in pkis}
        self.calls = 0

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        if url not in self.chains:
            raise LookupError(url)
        return self.chains[url]


@pytest.fixture
def good() -> TestPKI:
    return make_pki()


@pytest.fixture
def fetcher(good: TestPKI) -> Fetcher:
    return Fetcher(good, make_pki(san="evil.example.com"), make_pki(expired=True), make_pki(untrusted=True))


@pytest.fixture
def signed_client(make_app: Callable[..., Flask], good: TestPKI, fetcher: Fetcher) -> FlaskClient:
    app = make_app(ALEXA_VERIFY_REQUESTS="true", VERIFIER_ROOTS=[good.root], CERT_FETCH=fetcher)
    return app.test_client()


def send(client: FlaskClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/alexa", data=body, headers={**headers, "Content-Type": "application/json"})


def test_signed_request_is_answered(signed_client: FlaskClient, good: TestPKI, envelopes: Envelopes) -> None:
    body = json.dumps(envelopes.launch()).encode()
    response = send(signed_client, body, signed_headers(good, body))
    assert response.status_code == 200
    assert "Cramp Coach" in said(response.get_json())


def test_chain_is_validated_once_for_many_requests(
    signed_client: FlaskClient, good: TestPKI, fetcher: Fetcher, envelopes: Envelopes
) -> None:
    for _ in range(5):
        body = json.dumps(envelopes.intent("AMAZON.HelpIntent")).encode()
        assert send(signed_client, body, signed_headers(good, body)).status_code == 200
    assert fetcher.calls == 1


def _refusal(
    signed_client: FlaskClient, body: bytes, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> str:
    with caplog.at_level(logging.WARNING, logger="skill.endpoint"):
        response = send(signed_client, body, headers)
    assert response.status_code == 400
    reason = str(response.get_json()["error"])
    assert any(reason in r.getMessage() for r in caplog.records), "the log says why"
    return reason


def test_tampered_body_refused(
    signed_client: FlaskClient, good: TestPKI, envelopes: Envelopes, caplog: pytest.LogCaptureFixture
) -> None:
    envelope = envelopes.launch()
    body = json.dumps(envelope).encode()
    headers = signed_headers(good, body)
    envelope["request"]["locale"] = "en-GB"
    assert "signature" in _refusal(signed_client, json.dumps(envelope).encode(), headers, caplog)


@pytest.mark.parametrize(
    "url",
    [
        "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com:8443/echo.api/echo-api-cert.pem",
        "https://evil.example.com/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem",
        "https://s3.amazonaws.com/echo.api/../invalid/echo-api-cert.pem",
        "https://s3.amazonaws.com/echo.api/%2e%2e/other/cert.pem",
    ],
)
def test_wrong_cert_url_refused(
    signed_client: FlaskClient,
    good: TestPKI,
    envelopes: Envelopes,
    url: str,
    caplog: pytest.LogCaptureFixture,
    fetcher: Fetcher,
) -> None:
    body = json.dumps(envelopes.launch()).encode()
    headers = {**signed_headers(good, body), "SignatureCertChainUrl": url}
    _refusal(signed_client, body, headers, caplog)
    assert fetcher.calls == 0, "a bad URL is refused before any download"


@pytest.mark.parametrize(
    "options",
    [{"san": "evil.example.com"}, {"expired": True}, {"untrusted": True}],
    ids=["wrong-san", "expired", "untrusted-root"],
)
def test_bad_chain_refused(
    signed_client: FlaskClient,
    envelopes: Envelopes,
    options: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    pki = make_pki(**options)
    body = json.dumps(envelopes.launch()).encode()
    _refusal(signed_client, body, signed_headers(pki, body), caplog)


def test_stale_timestamp_refused(
    signed_client: FlaskClient,
    good: TestPKI,
    envelopes: Envelopes,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    envelope = envelopes.launch()
    envelope["request"]["timestamp"] = (clock() - timedelta(seconds=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps(envelope).encode()
    assert "timestamp" in _refusal(signed_client, body, signed_headers(good, body), caplog).lower()


def test_wrong_skill_id_refused(
    signed_client: FlaskClient, good: TestPKI, envelopes: Envelopes, caplog: pytest.LogCaptureFixture
) -> None:
    envelope = envelopes.launch()
    envelope["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.not-ours"
    envelope["session"]["application"]["applicationId"] = "amzn1.ask.skill.not-ours"
    body = json.dumps(envelope).encode()
    _refusal(signed_client, body, signed_headers(good, body), caplog)


@pytest.mark.parametrize("missing", ["SignatureCertChainUrl", "Signature-256"])
def test_missing_header_refused(
    signed_client: FlaskClient,
    good: TestPKI,
    envelopes: Envelopes,
    missing: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = json.dumps(envelopes.launch()).encode()
    headers = signed_headers(good, body)
    del headers[missing]
    _refusal(signed_client, body, headers, caplog)


def test_unsigned_simulator_request_refused_when_verification_on(
    signed_client: FlaskClient, envelopes: Envelopes
) -> None:
    assert signed_client.post("/alexa", json=envelopes.launch()).status_code == 400
