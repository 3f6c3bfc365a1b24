"""The stub's Skill Messaging and Reminders API, checked on the wire: the device-reminder tests are
only as good as the errors and formats the stub holds the skill and the worker to."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.conftest import Clock
from tests.stubs.alexa_api import AlexaApiStub, start_stub

CLIENT_ID = "amzn1.application-oa2-client.test"
CLIENT_SECRET = "s3cret"
USER = "amzn1.ask.account.ALICE"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def stub(clock: Clock) -> Iterator[AlexaApiStub]:
    with start_stub(CLIENT_ID, CLIENT_SECRET, clock=clock) as running:
        running.grant_reminders(USER)
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


def lwa(http: httpx.Client, stub: AlexaApiStub, scope: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    reply = http.post(stub.token_url, data={**form, "scope": scope})
    assert reply.status_code == 200, reply.text
    assert reply.json()["scope"] == scope
    token: str = reply.json()["access_token"]
    return token


def reminder(
    at: str = "2026-11-23T21:30:00", zone: str = "Europe/Berlin", text: str = "Time for a glass of water."
) -> dict[str, Any]:
    return {
        "requestTime": "2026-11-23T08:00:00",
        "trigger": {"type": "SCHEDULED_ABSOLUTE", "scheduledTime": at, "timeZoneId": zone},
        "alertInfo": {"spokenInfo": {"content": [{"locale": "en-US", "text": text}]}},
        "pushNotification": {"status": "ENABLED"},
    }


def call(
    http: httpx.Client, stub: AlexaApiStub, method: str, path: str, token: str | None, body: Any = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.request(method, stub.url + path, json=body, headers=headers)


# -- Skill Messaging ------------------------------------------------------------------------------


class _Skill(BaseHTTPRequestHandler):
    """A stand-in skill endpoint that records what Alexa (the stub) posts, and answers as told."""

    answers: list[int] = []
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def skill() -> Iterator[type[_Skill]]:
    handler = type("Skill", (_Skill,), {"answers": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_port}/alexa"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_message_is_posted_to_the_skill_as_message_received_with_a_token_for_that_user(
    stub: AlexaApiStub, http: httpx.Client, skill: Any
) -> None:
    stub.skill_endpoint = skill.url
    token = lwa(http, stub, "alexa:skill_messaging")
    reply = call(http, stub, "POST", f"/v1/skillmessages/users/{USER}", token, {"data": {"a": "1"}})
    assert reply.status_code == 202
    stub.drain()
    [posted] = skill.seen
    assert posted["request"]["type"] == "Messaging.MessageReceived"
    assert posted["request"]["message"] == {"a": "1"}
    assert posted["request"]["timestamp"] == "2026-11-23T08:00:00Z"
    assert "session" not in posted
    system = posted["context"]["System"]
    assert system["user"] == {"userId": USER} and system["apiEndpoint"] == stub.url
    # Its token works on the Reminders API, for that user.
    created = call(http, stub, "POST", "/v1/alerts/reminders", system["apiAccessToken"], reminder())
    assert created.status_code == 200
    assert stub.device_reminders(USER)[0]["alert_token"] == created.json()["alertToken"]


def test_a_message_the_skill_fails_is_delivered_again_until_it_succeeds(
    stub: AlexaApiStub, http: httpx.Client, skill: Any
) -> None:
    stub.skill_endpoint, stub.message_speedup = skill.url, 3000.0
    skill.answers.extend([503, 500])
    token = lwa(http, stub, "alexa:skill_messaging")
    call(
        http, stub, "POST", f"/v1/skillmessages/users/{USER}", token, {"data": {}, "expiresAfterSeconds": 600}
    )
    stub.drain()
    [message] = stub.messages
    assert message["attempts"] == [503, 500, 200]
    tokens = {seen["context"]["System"]["apiAccessToken"] for seen in skill.seen}
    assert len(tokens) == 3, "each delivery carries a fresh token"


def test_redelivery_stops_when_the_message_expires(
    stub: AlexaApiStub, http: httpx.Client, skill: Any
) -> None:
    stub.skill_endpoint, stub.message_speedup = skill.url, 3000.0
    skill.answers.extend([500] * 10)
    token = lwa(http, stub, "alexa:skill_messaging")
    call(
        http, stub, "POST", f"/v1/skillmessages/users/{USER}", token, {"data": {}, "expiresAfterSeconds": 100}
    )
    stub.drain()
    # Tries at 0, 30 and 90 s; the next (210 s) would be past the 100 s expiry.
    assert stub.messages[0]["attempts"] == [500, 500, 500]


@pytest.mark.parametrize(
    "body, why",
    [
        ({}, "data must be an object"),
        ({"data": {"a": 1}}, "strings"),
        ({"data": {"a": "x" * 7000}}, "6 KB"),
        ({"data": {}, "expiresAfterSeconds": 59}, "60 to 86400"),
        ({"data": {}, "expiresAfterSeconds": 86_401}, "60 to 86400"),
    ],
)
def test_bad_messages_are_400(stub: AlexaApiStub, http: httpx.Client, body: Any, why: str) -> None:
    token = lwa(http, stub, "alexa:skill_messaging")
    reply = call(http, stub, "POST", f"/v1/skillmessages/users/{USER}", token, body)
    assert reply.status_code == 400 and why in reply.json()["message"]
    assert stub.messages == []


def test_messaging_needs_its_own_scope_and_a_known_user(stub: AlexaApiStub, http: httpx.Client) -> None:
    proactive = lwa(http, stub, "alexa::proactive_events")
    path = f"/v1/skillmessages/users/{USER}"
    assert call(http, stub, "POST", path, proactive, {"data": {}}).status_code == 403
    assert call(http, stub, "POST", path, None, {"data": {}}).status_code == 403
    messaging = lwa(http, stub, "alexa:skill_messaging")
    event = call(http, stub, "POST", "/v1/proactiveEvents/stages/development", messaging, {})
    assert event.status_code == 403, "and a messaging token sends no notifications"
    stub.forget_user(USER)
    assert call(http, stub, "POST", path, messaging, {"data": {}}).status_code == 404
    stub.fail_messages_next(429, retry_after=2)
    throttled = call(http, stub, "POST", "/v1/skillmessages/users/other", messaging, {"data": {}})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"


# -- the Reminders API ----------------------------------------------------------------------------


def test_create_get_update_list_delete(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = stub.issue_api_token(USER)
    created = call(http, stub, "POST", "/v1/alerts/reminders", token, reminder())
    assert created.status_code == 200
    reply = created.json()
    alert = reply["alertToken"]
    assert reply["status"] == "ON" and reply["version"] == "1" and reply["href"].endswith(alert)
    [stored] = stub.device_reminders(USER)
    assert stored["fires_at"] == datetime(2026, 11, 23, 20, 30, tzinfo=UTC)

    got = call(http, stub, "GET", f"/v1/alerts/reminders/{alert}", token).json()
    assert got["trigger"]["scheduledTime"] == "2026-11-23T21:30:00" and got["alertInfo"]["spokenInfo"]

    moved = call(
        http, stub, "PUT", f"/v1/alerts/reminders/{alert}", token, reminder(at="2026-11-23T22:00:00")
    )
    assert moved.status_code == 200 and moved.json()["version"] == "2"
    assert stub.device_reminders(USER)[0]["fires_at"] == datetime(2026, 11, 23, 21, 0, tzinfo=UTC)

    listed = call(http, stub, "GET", "/v1/alerts/reminders", token).json()
    assert listed["totalCount"] == "1" and listed["alerts"][0]["alertToken"] == alert

    assert call(http, stub, "DELETE", f"/v1/alerts/reminders/{alert}", token).status_code == 200
    assert call(http, stub, "GET", f"/v1/alerts/reminders/{alert}", token).status_code == 404
    assert call(http, stub, "DELETE", f"/v1/alerts/reminders/{alert}", token).status_code == 404


def test_a_relative_trigger_fires_its_offset_from_now(stub: AlexaApiStub, http: httpx.Client) -> None:
    body = {**reminder(), "trigger": {"type": "SCHEDULED_RELATIVE", "offsetInSeconds": 3600}}
    assert (
        call(http, stub, "POST", "/v1/alerts/reminders", stub.issue_api_token(USER), body).status_code == 200
    )
    assert stub.device_reminders(USER)[0]["fires_at"] == NOW + timedelta(hours=1)


def test_tokens_are_per_user_and_last_an_hour(stub: AlexaApiStub, http: httpx.Client, clock: Clock) -> None:
    token = stub.issue_api_token(USER)
    alert = call(http, stub, "POST", "/v1/alerts/reminders", token, reminder()).json()["alertToken"]
    other = stub.issue_api_token("amzn1.ask.account.BOB")
    stub.grant_reminders("amzn1.ask.account.BOB")
    assert call(http, stub, "GET", f"/v1/alerts/reminders/{alert}", other).status_code == 404
    assert call(http, stub, "GET", "/v1/alerts/reminders", other).json()["alerts"] == []
    assert call(http, stub, "GET", "/v1/alerts/reminders", "made-up").status_code == 401
    assert call(http, stub, "GET", "/v1/alerts/reminders", None).status_code == 401
    clock.now = NOW + timedelta(minutes=61)
    expired = call(http, stub, "GET", "/v1/alerts/reminders", token)
    assert expired.status_code == 401 and expired.json()["code"] == "INVALID_BEARER_TOKEN"


def test_403_without_the_permission_or_past_the_limit(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = stub.issue_api_token(USER)
    stub.max_reminders = 1
    assert call(http, stub, "POST", "/v1/alerts/reminders", token, reminder()).status_code == 200
    full = call(http, stub, "POST", "/v1/alerts/reminders", token, reminder())
    assert full.status_code == 403 and full.json()["code"] == "MAX_REMINDERS_EXCEEDED"
    stub.revoke_reminders(USER)
    refused = call(http, stub, "GET", "/v1/alerts/reminders", token)
    assert refused.status_code == 403 and refused.json()["code"] != "MAX_REMINDERS_EXCEEDED"


@pytest.mark.parametrize(
    "change, why",
    [
        (
            {
                "trigger": {
                    "type": "SCHEDULED_ABSOLUTE",
                    "scheduledTime": "2026-11-23T21:30:00Z",
                    "timeZoneId": "UTC",
                }
            },
            "no offset",
        ),
        (
            {
                "trigger": {
                    "type": "SCHEDULED_ABSOLUTE",
                    "scheduledTime": "2026-11-23T21:30:00",
                    "timeZoneId": "Mars/Base",
                }
            },
            "IANA",
        ),
        (
            {
                "trigger": {
                    "type": "SCHEDULED_ABSOLUTE",
                    "scheduledTime": "2026-11-23T07:00:00",
                    "timeZoneId": "UTC",
                }
            },
            "past",
        ),
        ({"trigger": {"type": "SCHEDULED_RELATIVE", "offsetInSeconds": 0}}, "positive"),
        ({"trigger": {"type": "SOMETIME"}}, "trigger.type"),
        ({"alertInfo": {"spokenInfo": {"content": []}}}, "non-empty"),
        ({"alertInfo": {"spokenInfo": {"content": [{"locale": "en-US", "text": "x" * 251}]}}}, "1 to 250"),
        ({"pushNotification": {"status": "LOUD"}}, "pushNotification"),
        ({"requestTime": 5}, "requestTime"),
    ],
)
def test_bodies_the_api_would_refuse_are_400(
    stub: AlexaApiStub, http: httpx.Client, change: dict[str, Any], why: str
) -> None:
    reply = call(
        http, stub, "POST", "/v1/alerts/reminders", stub.issue_api_token(USER), {**reminder(), **change}
    )
    assert reply.status_code == 400 and why in reply.json()["message"], reply.json()
    assert stub.device_reminders() == []


def test_scripted_throttling_then_service(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = stub.issue_api_token(USER)
    stub.fail_reminders_next(429, retry_after=3)
    throttled = call(http, stub, "POST", "/v1/alerts/reminders", token, reminder())
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert call(http, stub, "POST", "/v1/alerts/reminders", token, reminder()).status_code == 200


def test_deleted_in_the_app_posts_reminder_deleted(
    stub: AlexaApiStub, http: httpx.Client, skill: Any
) -> None:
    stub.skill_endpoint = skill.url
    token = stub.issue_api_token(USER)
    alert = call(http, stub, "POST", "/v1/alerts/reminders", token, reminder()).json()["alertToken"]
    stub.delete_in_app(alert)
    assert stub.device_reminders() == []
    [posted] = skill.seen
    assert posted["request"]["type"] == "Reminders.ReminderDeleted"
    assert posted["request"]["body"] == {"alertTokens": [alert]}
    assert stub.posted[-1] == {"type": "Reminders.ReminderDeleted", "user": USER, "status": 200}


def test_the_stub_posts_to_loopback_only(stub: AlexaApiStub, http: httpx.Client) -> None:
    token = stub.issue_api_token(USER)
    alert = call(http, stub, "POST", "/v1/alerts/reminders", token, reminder()).json()["alertToken"]
    stub.skill_endpoint = "http://192.0.2.1/alexa"  # TEST-NET-1: never contacted
    with pytest.raises(RuntimeError, match="loopback"):
        stub.delete_in_app(alert)
