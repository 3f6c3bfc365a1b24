"""The stub's own wire behaviour: if it drifts from Amazon's formats, the channel tests prove nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.stubs.alexa_api import AlexaApiStub, start_stub

CLIENT_ID = "amzn1.application-oa2-client.test"
CLIENT_SECRET = "s3cret/with+odd=chars"
DEV_PATH = "/v1/proactiveEvents/stages/development"


@pytest.fixture
def stub() -> Iterator[AlexaApiStub]:
    with start_stub(CLIENT_ID, CLIENT_SECRET) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


GRANT_FORM = {
    "grant_type": "client_credentials",
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "scope": "alexa::proactive_events",
}


def grant(http: httpx.Client, stub: AlexaApiStub) -> str:
    reply = http.post(stub.token_url, data=GRANT_FORM)
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["access_token"]
    return token


def event_body(
    reference_id: str = "cc~r1~20261123T0230Z", user: str = "amzn1.ask.account.A"
) -> dict[str, Any]:
    now = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    return {
        "timestamp": now.isoformat(),
        "referenceId": reference_id,
        "expiryTime": (now + timedelta(hours=3)).isoformat(),
        "event": {
            "name": "AMAZON.MessageAlert.Activated",
            "payload": {
                "state": {"status": "UNREAD", "freshness": "NEW"},
                "messageGroup": {"creator": {"name": "Cramp Coach"}, "count": 1, "urgency": "URGENT"},
            },
        },
        "localizedAttributes": [{"locale": "en-US"}],
        "relevantAudience": {"type": "Unicast", "payload": {"user": user}},
    }


def post_event(
    http: httpx.Client, stub: AlexaApiStub, token: str | None, body: Any, path: str = DEV_PATH
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.post(stub.url + path, json=body, headers=headers)


# -- LWA token ---------------------------------------------------------------------------------------


def test_token_grant_shape_and_count(stub: AlexaApiStub, http: httpx.Client) -> None:
    reply = http.post(stub.token_url, data=GRANT_FORM)
    assert reply.status_code == 200
    data = reply.json()
    assert data["access_token"]
    assert data["expires_in"] == 3600
    assert data["token_type"] == "bearer"
    assert data["scope"] == "alexa::proactive_events"
    assert stub.token_grants == 1


def test_token_path_is_case_insensitive_and_body_may_be_unencoded(
    stub: AlexaApiStub, http: httpx.Client
) -> None:
    # Amazon documents /auth/O2/token, and some clients send the form without URL-encoding.
    raw = (
        f"grant_type=client_credentials&client_id={CLIENT_ID}"
        f"&client_secret={CLIENT_SECRET}&scope=alexa::proactive_events"
    )
    reply = http.post(
        stub.url + "/auth/O2/token",
        content=raw,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 200, reply.text
    assert stub.token_grants == 1


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
        ({"scope": "alexa::household:lists:read"}, 400, "invalid_scope"),
    ],
)
def test_token_errors(
    stub: AlexaApiStub, http: httpx.Client, fields: dict[str, str], status: int, error: str
) -> None:
    reply = http.post(stub.token_url, data={**GRANT_FORM, **fields})
    assert reply.status_code == status
    assert reply.json()["error"] == error
    assert stub.token_grants == 0


def test_short_expires_in_is_configurable(http: httpx.Client) -> None:
    with start_stub(CLIENT_ID, CLIENT_SECRET, expires_in=2) as stub:
        reply = http.post(stub.token_url, data=GRANT_FORM)
        assert reply.json()["expires_in"] == 2


# -- Proactive Events --------------------------------------------------------------------------------


def test_event_accepted_and_recorded_with_stage(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = grant(http, stub)
    assert post_event(http, stub, token, event_body("a1")).status_code == 202
    assert post_event(http, stub, token, event_body("a2"), path="/v1/proactiveEvents").status_code == 202
    events = stub.events
    assert [(e["stage"], e["path"], e["reference_id"]) for e in events] == [
        ("development", DEV_PATH, "a1"),
        ("live", "/v1/proactiveEvents", "a2"),
    ]
    assert events[0]["user"] == "amzn1.ask.account.A"
    assert events[0]["access_token"] == token
    assert events[0]["body"]["event"]["name"] == "AMAZON.MessageAlert.Activated"


@pytest.mark.parametrize("token", [None, "not-issued-by-the-stub"])
def test_event_needs_an_issued_token(stub: AlexaApiStub, http: httpx.Client, token: str | None) -> None:
    assert post_event(http, stub, token, event_body()).status_code == 403
    assert stub.events == []


def test_revoked_tokens_are_refused(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = grant(http, stub)
    stub.revoke_tokens()
    assert post_event(http, stub, token, event_body()).status_code == 403


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: {**b, "referenceId": "has-dash"}, "referenceId"),
        (lambda b: {**b, "referenceId": "x" * 101}, "referenceId"),
        (lambda b: {**b, "referenceId": ""}, "referenceId"),
        (lambda b: _without(b, "timestamp"), "timestamp"),
        (lambda b: {**b, "timestamp": "2026-11-23T02:30:00"}, "timestamp"),  # no offset
        (lambda b: _without(b, "expiryTime"), "expiryTime"),
        (lambda b: {**b, "expiryTime": b["timestamp"]}, "5 minutes"),
        (lambda b: {**b, "expiryTime": "2026-11-25T02:30:00+00:00"}, "24 hours"),
        (lambda b: {**b, "event": {"payload": {}}}, "event.name"),
        (lambda b: {**b, "relevantAudience": {"type": "Broadcast", "payload": {}}}, "relevantAudience"),
        (lambda b: {**b, "relevantAudience": {"type": "Unicast", "payload": {}}}, "payload.user"),
        (lambda b: _without(b, "localizedAttributes"), "localizedAttributes"),
        (lambda b: [b], "JSON object"),
    ],
)
def test_invalid_bodies_get_400_with_a_message(
    stub: AlexaApiStub, http: httpx.Client, mutate: Any, message: str
) -> None:
    token = grant(http, stub)
    reply = post_event(http, stub, token, mutate(event_body()))
    assert reply.status_code == 400
    assert message in reply.json()["message"]
    assert stub.events == []


def test_non_json_body_is_400(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = grant(http, stub)
    reply = http.post(stub.url + DEV_PATH, content=b"{not json", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 400


def test_duplicate_reference_for_same_user_is_409(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = grant(http, stub)
    assert post_event(http, stub, token, event_body("dup", user="A")).status_code == 202
    assert post_event(http, stub, token, event_body("dup", user="A")).status_code == 409
    # The same id for another user, or on the other stage, is a different event.
    assert post_event(http, stub, token, event_body("dup", user="B")).status_code == 202
    assert (
        post_event(http, stub, token, event_body("dup", user="A"), path="/v1/proactiveEvents").status_code
        == 202
    )
    assert len(stub.events) == 3


def test_forced_failures_come_first_then_normal_service(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = grant(http, stub)
    stub.fail_next(429, times=2, retry_after=1)
    stub.fail_next(500)
    stub.fail_next(403)
    replies = [post_event(http, stub, token, event_body("f")) for _ in range(5)]
    assert [r.status_code for r in replies] == [429, 429, 500, 403, 202]
    assert [r.headers.get("Retry-After") for r in replies[:3]] == ["1", "1", None]
    assert [e["reference_id"] for e in stub.events] == ["f"]


def test_requests_are_recorded(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = grant(http, stub)
    post_event(http, stub, token, event_body())
    http.get(stub.url + "/nowhere")
    assert stub.requests == [
        {"method": "POST", "path": "/auth/o2/token", "status": 200},
        {"method": "POST", "path": DEV_PATH, "status": 202},
        {"method": "GET", "path": "/nowhere", "status": 404},
    ]
    stub.reset()
    assert stub.requests == [] and stub.events == [] and stub.token_grants == 0


# -- Settings API ------------------------------------------------------------------------------------


def test_time_zone_is_a_bare_json_string(stub: AlexaApiStub, http: httpx.Client) -> None:
    device = "amzn1.ask.device.ABC"
    stub.set_time_zone(device, "Europe/Berlin")
    reply = http.get(
        f"{stub.url}/v2/devices/{device}/settings/System.timeZone",
        headers={"Authorization": "Bearer in-session-api-access-token"},
    )
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.text == '"Europe/Berlin"'


def test_time_zone_errors(stub: AlexaApiStub, http: httpx.Client) -> None:
    device = "amzn1.ask.device.ABC"
    url = f"{stub.url}/v2/devices/{device}/settings/System.timeZone"
    auth = {"Authorization": "Bearer t"}
    stub.set_time_zone(device, "America/New_York")
    assert http.get(url).status_code == 403  # no token
    assert http.get(url.replace("ABC", "OTHER"), headers=auth).status_code == 404
    stub.fail_timezone(500)
    stub.fail_timezone(404)
    assert [http.get(url, headers=auth).status_code for _ in range(3)] == [500, 404, 200]


def test_default_time_zone() -> None:
    with start_stub(default_time_zone="Asia/Tokyo") as stub, httpx.Client() as http:
        reply = http.get(
            f"{stub.url}/v2/devices/any/settings/System.timeZone", headers={"Authorization": "Bearer t"}
        )
        assert reply.json() == "Asia/Tokyo"


# -- standalone ----------------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="uses SIGINT")
def test_runs_standalone_until_interrupted() -> None:
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.stubs.alexa_api", "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Alexa API stub listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        reply = httpx.get(
            f"{url}/v2/devices/d/settings/System.timeZone", headers={"Authorization": "Bearer t"}
        )
        assert reply.status_code == 404
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        assert "stopped" in out
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_random_faults_are_reproducible_and_counted(http: httpx.Client) -> None:
    runs = []
    for _ in range(2):
        with start_stub(CLIENT_ID, CLIENT_SECRET, seed=3) as stub:
            stub.faults, stub.throttle, stub.retry_after = 0.3, 0.1, 2.0
            token = grant(http, stub)
            codes = []
            for n in range(100):
                reply = post_event(http, stub, token, event_body(reference_id=f"cc~r{n}~x"))
                codes.append(reply.status_code)
                if reply.status_code == 429:
                    assert reply.headers["Retry-After"] == "2"
            runs.append(codes)
            stats = stub.stats()
            assert stats["statuses"] == {str(c): codes.count(c) for c in sorted(set(codes))}
            assert len(stats["accepted"]) == codes.count(202)
    assert runs[0] == runs[1]  # the same seed, the same faults
    assert set(runs[0]) == {202, 429, 500}
    share = sum(c != 202 for c in runs[0]) / 100
    assert 0.2 < share < 0.6  # about the 40% asked for


def test_stats_name_each_accepted_event_and_count_resends(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = grant(http, stub)
    body = event_body(reference_id="cc~r1~once")
    assert post_event(http, stub, token, body).status_code == 202
    assert post_event(http, stub, token, body).status_code == 409
    stats = http.get(stub.url + "/_stub/stats").json()
    ((ref, user, at),) = stats["accepted"]
    assert (ref, user) == ("cc~r1~once", body["relevantAudience"]["payload"]["user"])
    assert at > 0
    assert stats["duplicates"] == {"cc~r1~once": 1}
    assert stats["statuses"] == {"202": 1, "409": 1}


def test_fast_mode_runs_in_its_own_process_with_the_same_rules() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-W",
            "ignore::RuntimeWarning",
            "-m",
            "tests.stubs.alexa_api",
            "--fast",
            "--port",
            "0",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
        ],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split("listening on ", 1)[1].strip()
        with httpx.Client(timeout=5.0) as http:
            reply = http.post(url + "/auth/o2/token", data=GRANT_FORM)
            assert reply.status_code == 200, reply.text
            token = reply.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            body = event_body(reference_id="cc~r7~fast")
            assert http.post(url + DEV_PATH, json=body, headers=headers).status_code == 202
            assert http.post(url + DEV_PATH, json=body, headers=headers).status_code == 409
            assert http.post(url + DEV_PATH, json={"x": 1}, headers=headers).status_code == 400
            assert http.post(url + DEV_PATH, json=body).status_code == 403
            stats = http.get(url + "/_stub/stats").json()
        assert [ref for ref, _, _ in stats["accepted"]] == ["cc~r7~fast"]
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "accepted 1 events" in out
