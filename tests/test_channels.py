"""Delivery channels against local servers: the Alexa API stub and a tiny webhook receiver."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import pytest

from scheduler import aio
from scheduler.channels import (
    AlexaChannel,
    LogChannel,
    Notice,
    Outcome,
    PlacementRequest,
    SkillMessagingChannel,
    WebhookChannel,
    channel_from_env,
    messenger_from_env,
    reference_id_for,
    verify_signature,
)
from scheduler.channels.alexa import build_event_body
from scheduler.channels.base import REFERENCE_ID_RE, Channel, SendResult, parse_retry_after
from scheduler.urls import require_https_or_loopback
from tests.stubs.alexa_api import AlexaApiStub, start_stub

NOW = datetime(2026, 11, 23, 2, 30, 7, tzinfo=UTC)
USER = "amzn1.ask.account.AEXAMPLEUSER0000000000000001"


def send(channel: Channel, notice: Notice) -> SendResult:
    """One send on the worker's send loop, waited for."""
    return aio.run(channel.send(notice))


def make_notice(n: int = 1, *, user: str = USER, expires_at: datetime | None = None) -> Notice:
    occurrence = NOW.replace(second=0) + timedelta(minutes=n)
    return Notice(
        reminder_id=n,
        alexa_user_id=user,
        kind="stretch" if n % 2 else "water",
        occurrence_at=occurrence,
        reference_id=reference_id_for(n, occurrence),
        locale="en-US",
        expires_at=expires_at or occurrence + timedelta(hours=3),
    )


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def free_port() -> int:
    # Bind, note the port, close: nothing listens there afterwards, so connecting is refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- notices and urls --------------------------------------------------------------------------------


def test_reference_id_is_stable_and_uses_amazons_alphabet() -> None:
    at = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert reference_id_for(42, at) == "cc~r42~20261123T0230Z"
    assert reference_id_for(42, at) == reference_id_for(42, at)
    # The same instant written in another zone gives the same id.
    assert reference_id_for(42, at.astimezone(timezone(timedelta(hours=-5)))) == "cc~r42~20261123T0230Z"
    ids = {
        reference_id_for(42, at),
        reference_id_for(42, at + timedelta(seconds=5)),
        reference_id_for(42, at + timedelta(microseconds=5)),
        reference_id_for(43, at),
    }
    assert len(ids) == 4
    assert all(REFERENCE_ID_RE.fullmatch(i) for i in ids)


def test_notice_rejects_naive_times_and_bad_reference_ids() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        reference_id_for(1, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="reference_id"):
        Notice(1, USER, "water", NOW, "cc-r1", "en-US", NOW + timedelta(hours=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        Notice(1, USER, "water", NOW.replace(tzinfo=None), "cc~r1", "en-US", NOW)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.amazonalexa.com",
        "http://127.0.0.1:8088",
        "http://127.9.9.9/x",
        "http://localhost:5000/hook",
        "http://LOCALHOST/hook",
        "http://[::1]:8080/",
    ],
)
def test_allowed_urls(url: str) -> None:
    assert require_https_or_loopback(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://api.amazonalexa.com",
        "http://10.0.0.5/hook",
        "http://127.0.0.1.nip.io/hook",
        "http://[::ffff:8.8.8.8]/",
        "ftp://127.0.0.1/",
        "https:///no-host",
        "http://127.0.0.1:notaport/",
        "",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(ValueError):
        require_https_or_loopback(url)


def test_refusal_message_does_not_echo_the_url_path() -> None:
    with pytest.raises(ValueError) as info:
        require_https_or_loopback("http://hooks.example.com/secret-token-123")
    assert "secret-token-123" not in str(info.value)


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Mon, 23 Nov 2026 02:30:37 GMT", now=NOW) == 30.0


# -- Alexa -------------------------------------------------------------------------------------------


@pytest.fixture
def stub() -> Iterator[AlexaApiStub]:
    with start_stub("amzn1.application-oa2-client.cc", "cc-secret") as running:
        yield running


@pytest.fixture
def make_alexa(stub: AlexaApiStub) -> Iterator[Callable[..., AlexaChannel]]:
    made: list[AlexaChannel] = []

    def make(**kwargs: Any) -> AlexaChannel:
        options: dict[str, Any] = {
            "api_endpoint": stub.url,
            "token_url": stub.token_url,
            "utcnow": lambda: NOW,
            **kwargs,
        }
        channel = AlexaChannel(stub.client_id, stub.client_secret, **options)
        made.append(channel)
        return channel

    yield make
    for channel in made:
        channel.close()


def test_alexa_delivers_a_message_alert(stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel]) -> None:
    notice = make_notice(1)
    result = send(make_alexa(), notice)
    assert result.outcome is Outcome.DELIVERED
    assert result.status == 202
    [event] = stub.events
    assert event["stage"] == "development"
    assert event["path"] == "/v1/proactiveEvents/stages/development"
    body = event["body"]
    assert body["referenceId"] == notice.reference_id
    assert body["relevantAudience"] == {"type": "Unicast", "payload": {"user": USER}}
    assert body["event"] == {
        "name": "AMAZON.MessageAlert.Activated",
        "payload": {
            "state": {"status": "UNREAD", "freshness": "NEW"},
            "messageGroup": {"creator": {"name": "Cramp Coach"}, "count": 1, "urgency": "URGENT"},
        },
    }
    assert body["localizedAttributes"] == [{"locale": "en-US"}]
    assert datetime.fromisoformat(body["timestamp"]) == NOW
    assert datetime.fromisoformat(body["expiryTime"]) == notice.expires_at


def test_the_event_body_is_what_the_sdk_serializer_writes() -> None:
    # The channel writes the body out directly (the SDK's serializer costs ~70 µs a notice); it
    # must stay field for field what ask-sdk-model's CreateProactiveEventRequest serializes to.
    from ask_sdk_core.serialize import DefaultSerializer
    from ask_sdk_model.services.proactive_events.create_proactive_event_request import (
        CreateProactiveEventRequest,
    )
    from ask_sdk_model.services.proactive_events.event import Event
    from ask_sdk_model.services.proactive_events.relevant_audience import RelevantAudience
    from ask_sdk_model.services.proactive_events.relevant_audience_type import RelevantAudienceType

    from scheduler.channels.alexa import clamp_expiry

    for notice in (make_notice(1), make_notice(2, expires_at=NOW + timedelta(days=3))):
        request = CreateProactiveEventRequest(
            timestamp=NOW,
            reference_id=notice.reference_id,
            expiry_time=clamp_expiry(NOW, notice.expires_at),
            event=Event(
                name="AMAZON.MessageAlert.Activated",
                payload={
                    "state": {"status": "UNREAD", "freshness": "NEW"},
                    "messageGroup": {"creator": {"name": "Cramp Coach"}, "count": 1, "urgency": "URGENT"},
                },
            ),
            localized_attributes=[{"locale": notice.locale}],
            relevant_audience=RelevantAudience(
                object_type=RelevantAudienceType.Unicast, payload={"user": notice.alexa_user_id}
            ),
        )
        assert build_event_body(notice, NOW) == DefaultSerializer().serialize(request)


def test_the_encoded_body_is_the_dict_encoded_byte_for_byte() -> None:
    # The channel joins fixed byte parts instead of encoding the dict per notice; the result must
    # be exactly what the compact encoder writes for build_event_body, odd user ids included.
    from scheduler.channels.alexa import _compact_json, _iso, clamp_expiry, encode_event_body

    odd_users = (USER, 'amzn1.ask.account."quoted"\\back', "amzn1.ask.account.ünï\u2028\n\x00")
    for n, user in enumerate(odd_users, 1):
        for notice in (
            make_notice(n, user=user),
            make_notice(n, user=user, expires_at=NOW + timedelta(days=3)),
        ):
            expected = _compact_json.encode(build_event_body(notice, NOW)).encode()
            stamp = f'"{_iso(NOW)}"'.encode()
            expiry = f'"{_iso(clamp_expiry(NOW, notice.expires_at))}"'.encode()
            assert encode_event_body(notice, stamp, expiry) == expected


def test_alexa_live_stage_uses_the_live_path(
    stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel]
) -> None:
    assert send(make_alexa(stage="live"), make_notice()).outcome is Outcome.DELIVERED
    assert [(e["stage"], e["path"]) for e in stub.events] == [("live", "/v1/proactiveEvents")]


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        (NOW + timedelta(hours=48), NOW + timedelta(hours=24)),
        (NOW + timedelta(minutes=1), NOW + timedelta(minutes=5)),
        (NOW - timedelta(hours=1), NOW + timedelta(minutes=5)),
        (NOW + timedelta(hours=2), NOW + timedelta(hours=2)),
    ],
)
def test_alexa_clamps_expiry_into_amazons_window(
    stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel], expires_at: datetime, expected: datetime
) -> None:
    assert send(make_alexa(), make_notice(expires_at=expires_at)).outcome is Outcome.DELIVERED
    assert datetime.fromisoformat(stub.events[0]["body"]["expiryTime"]) == expected


def test_alexa_token_is_cached_then_refreshed_after_expiry(
    stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel]
) -> None:
    clock = FakeMonotonic()
    channel = make_alexa(monotonic=clock)
    for n in range(10):
        assert send(channel, make_notice(n)).outcome is Outcome.DELIVERED
    assert stub.token_grants == 1
    clock.now += 3000  # still inside the 3600 s lifetime
    assert send(channel, make_notice(10)).outcome is Outcome.DELIVERED
    assert stub.token_grants == 1
    clock.now += 600  # past expires_in
    assert send(channel, make_notice(11)).outcome is Outcome.DELIVERED
    assert stub.token_grants == 2
    tokens = [e["access_token"] for e in stub.events]
    assert len(set(tokens[:11])) == 1 and tokens[11] != tokens[0]


def test_alexa_409_is_duplicate(make_alexa: Callable[..., AlexaChannel]) -> None:
    channel = make_alexa()
    assert send(channel, make_notice(1)).outcome is Outcome.DELIVERED
    result = send(channel, make_notice(1))
    assert (result.outcome, result.status) == (Outcome.DUPLICATE, 409)


@pytest.mark.parametrize(("status", "retry_after"), [(429, 2.0), (429, None), (500, None), (503, 1.5)])
def test_alexa_throttling_and_server_errors_are_retry(
    stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel], status: int, retry_after: float | None
) -> None:
    stub.fail_next(status, retry_after=retry_after)
    result = send(make_alexa(), make_notice())
    assert (result.outcome, result.status, result.retry_after) == (Outcome.RETRY, status, retry_after)
    assert stub.events == []


@pytest.mark.parametrize("status", [400, 404, 413, 432])
def test_alexa_other_client_errors_are_rejected(
    stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel], status: int
) -> None:
    stub.fail_next(status)
    result = send(make_alexa(), make_notice())
    assert (result.outcome, result.status) == (Outcome.REJECTED, status)
    assert "forced" in result.detail


def test_alexa_403_twice_is_forbidden_after_one_refresh(
    stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel]
) -> None:
    stub.fail_next(403, times=2)
    result = send(make_alexa(), make_notice())
    assert (result.outcome, result.status) == (Outcome.FORBIDDEN, 403)
    assert stub.token_grants == 2
    event_posts = [r for r in stub.requests if r["path"].startswith("/v1/")]
    assert [r["status"] for r in event_posts] == [403, 403]


def test_alexa_revoked_token_is_replaced_transparently(
    stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel]
) -> None:
    channel = make_alexa()
    assert send(channel, make_notice(1)).outcome is Outcome.DELIVERED
    stub.revoke_tokens()
    assert send(channel, make_notice(2)).outcome is Outcome.DELIVERED
    assert stub.token_grants == 2
    assert len(stub.events) == 2


def test_alexa_bad_credentials_are_retry_without_hammering_lwa(stub: AlexaApiStub) -> None:
    clock = FakeMonotonic()
    with AlexaChannel(
        stub.client_id, "wrong", api_endpoint=stub.url, token_url=stub.token_url, monotonic=clock
    ) as channel:
        first = send(channel, make_notice(1))
        second = send(channel, make_notice(2))
        clock.now += 10  # past the cool-down: ask LWA again
        third = send(channel, make_notice(3))
    for result in (first, second, third):
        assert result.outcome is Outcome.RETRY
        assert result.status is None
        assert "invalid_client" in result.detail
        assert "wrong" not in result.detail
    assert [r["status"] for r in stub.requests] == [401, 401]
    assert stub.events == []


def test_alexa_connection_refused_is_retry() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with AlexaChannel("id", "secret", api_endpoint=url, token_url=url + "/auth/o2/token") as channel:
        result = send(channel, make_notice())
    assert (result.outcome, result.status) == (Outcome.RETRY, None)


def test_alexa_event_connection_refused_is_retry(stub: AlexaApiStub) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with AlexaChannel(
        stub.client_id, stub.client_secret, api_endpoint=url, token_url=stub.token_url
    ) as channel:
        result = send(channel, make_notice())
    assert (result.outcome, result.status) == (Outcome.RETRY, None)
    assert "ClientConnectorError" in result.detail


def test_alexa_read_timeout_is_retry(stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel]) -> None:
    channel = make_alexa(timeout=aiohttp.ClientTimeout(total=0.3))
    send(channel, make_notice(1))  # fetch the token before the stub slows down
    stub.delay = 2.0
    result = send(channel, make_notice(2))
    assert (result.outcome, result.status) == (Outcome.RETRY, None)
    assert "Timeout" in result.detail


@pytest.mark.parametrize(
    ("api_endpoint", "token_url"),
    [
        ("http://api.amazonalexa.com", "https://api.amazon.com/auth/o2/token"),
        ("https://api.amazonalexa.com", "http://api.amazon.com/auth/o2/token"),
    ],
)
def test_alexa_refuses_plain_http_to_remote_hosts(api_endpoint: str, token_url: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        AlexaChannel("id", "secret", api_endpoint=api_endpoint, token_url=token_url)


def test_alexa_rejects_unknown_stage() -> None:
    with pytest.raises(ValueError, match="ALEXA_SKILL_STAGE"):
        AlexaChannel("id", "secret", stage="staging")


def test_alexa_concurrent_sends_arrive_exactly_once(
    stub: AlexaApiStub, make_alexa: Callable[..., AlexaChannel]
) -> None:
    channel = make_alexa()
    notices = [make_notice(n, user=f"{USER}{n % 7}") for n in range(160)]

    async def all_at_once() -> list[SendResult]:
        return list(await asyncio.gather(*(channel.send(n) for n in notices)))

    results = aio.run(all_at_once())
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    received = sorted(e["reference_id"] for e in stub.events)
    assert received == sorted(n.reference_id for n in notices)
    assert stub.token_grants == 1  # one refresh at a time: the other sends waited for it


# -- webhook -----------------------------------------------------------------------------------------

SECRET = "webhook-shared-secret"


class Receiver:
    """A tiny webhook endpoint on 127.0.0.1 that records requests and answers scripted statuses."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.replies: list[tuple[int, dict[str, str]]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.received.append((dict(self.headers.items()), body))
                    status, headers = receiver.replies.pop(0) if receiver.replies else (204, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cramp"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02})
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


def test_webhook_delivers_a_signed_body(receiver: Receiver) -> None:
    notice = make_notice(3)
    with WebhookChannel(receiver.url, SECRET) as channel:
        result = send(channel, notice)
    assert (result.outcome, result.status) == (Outcome.DELIVERED, 204)
    [(headers, body)] = receiver.received
    assert json.loads(body) == {
        "user_id": USER,
        "kind": "stretch",
        "occurrence_at": "2026-11-23T02:33:00Z",
        "reference_id": notice.reference_id,
        "locale": "en-US",
    }
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == notice.reference_id
    signature = headers["X-Cramp-Coach-Signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, body, signature)
    assert not verify_signature("another-secret", body, signature)
    assert not verify_signature(SECRET, body + b" ", signature)
    assert not verify_signature(SECRET, body, None)
    assert not verify_signature(SECRET, body, "sha256=ünïcode")


@pytest.mark.parametrize(
    ("status", "headers", "outcome", "retry_after"),
    [
        (200, {}, Outcome.DELIVERED, None),
        (409, {}, Outcome.DUPLICATE, None),
        (429, {"Retry-After": "2"}, Outcome.RETRY, 2.0),
        (503, {}, Outcome.RETRY, None),
        (400, {}, Outcome.REJECTED, None),
        (403, {}, Outcome.REJECTED, None),  # a webhook's 403 is not a user's Alexa permission
        (301, {"Location": "https://elsewhere.example/"}, Outcome.REJECTED, None),
    ],
)
def test_webhook_status_mapping(
    receiver: Receiver, status: int, headers: dict[str, str], outcome: Outcome, retry_after: float | None
) -> None:
    receiver.replies.append((status, headers))
    with WebhookChannel(receiver.url, SECRET) as channel:
        result = send(channel, make_notice())
    assert (result.outcome, result.status, result.retry_after) == (outcome, status, retry_after)
    assert len(receiver.received) == 1  # redirects are not followed


def test_webhook_connection_refused_is_retry() -> None:
    with WebhookChannel(f"http://127.0.0.1:{free_port()}/hook", SECRET) as channel:
        result = send(channel, make_notice())
    assert (result.outcome, result.status) == (Outcome.RETRY, None)


def test_webhook_needs_https_or_loopback_and_a_secret() -> None:
    with pytest.raises(ValueError, match="loopback"):
        WebhookChannel("http://hooks.example.com/cramp", SECRET)
    with pytest.raises(ValueError, match="secret"):
        WebhookChannel("https://hooks.example.com/cramp", "")


# -- log ---------------------------------------------------------------------------------------------


def test_log_channel_logs_one_line_and_reports_delivered(caplog: pytest.LogCaptureFixture) -> None:
    notice = make_notice(5)
    with caplog.at_level(logging.INFO, logger="scheduler.channels.log"):
        result = send(LogChannel(), notice)
    assert result.outcome is Outcome.DELIVERED
    [record] = [r for r in caplog.records if r.name == "scheduler.channels.log"]
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert notice.reference_id in message and "stretch" in message and "en-US" in message


# -- channel_from_env --------------------------------------------------------------------------------


def _pick(env: dict[str, str]) -> Channel:
    channel = channel_from_env(env)
    channel.close()
    return channel


def test_env_without_credentials_gives_the_log_channel(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert isinstance(_pick({}), LogChannel)
    assert "only be logged" in caplog.text
    assert isinstance(_pick({"ALEXA_CLIENT_ID": "", "REMINDER_WEBHOOK_URL": " "}), LogChannel)


def test_env_with_alexa_credentials_gives_alexa_first() -> None:
    env = {
        "ALEXA_CLIENT_ID": "id",
        "ALEXA_CLIENT_SECRET": "secret",
        "REMINDER_WEBHOOK_URL": "https://hooks.example.com/cramp",
        "REMINDER_WEBHOOK_SECRET": SECRET,
    }
    channel = _pick(env)
    assert isinstance(channel, AlexaChannel)
    assert channel.events_url == "https://api.amazonalexa.com/v1/proactiveEvents/stages/development"
    live = _pick(
        {**env, "ALEXA_SKILL_STAGE": "LIVE", "ALEXA_API_ENDPOINT": "https://api.eu.amazonalexa.com/"}
    )
    assert isinstance(live, AlexaChannel)
    assert live.events_url == "https://api.eu.amazonalexa.com/v1/proactiveEvents"


def test_env_alexa_channel_talks_to_the_configured_endpoints(stub: AlexaApiStub) -> None:
    channel = channel_from_env(
        {
            "ALEXA_CLIENT_ID": stub.client_id,
            "ALEXA_CLIENT_SECRET": stub.client_secret,
            "ALEXA_API_ENDPOINT": stub.url,
            "LWA_TOKEN_URL": stub.token_url,
        }
    )
    try:
        assert send(channel, make_notice()).outcome is Outcome.DELIVERED
    finally:
        channel.close()
    assert stub.token_grants == 1 and len(stub.events) == 1


def test_env_with_webhook_gives_the_webhook_channel() -> None:
    channel = _pick(
        {"REMINDER_WEBHOOK_URL": "https://hooks.example.com/cramp", "REMINDER_WEBHOOK_SECRET": SECRET}
    )
    assert isinstance(channel, WebhookChannel)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REMINDER_WEBHOOK_URL": "https://hooks.example.com/cramp"}, "REMINDER_WEBHOOK_SECRET"),
        ({"REMINDER_WEBHOOK_URL": "https://hooks.example.com/c", "REMINDER_WEBHOOK_SECRET": "  "}, "SECRET"),
        ({"REMINDER_WEBHOOK_URL": "http://hooks.example.com/c", "REMINDER_WEBHOOK_SECRET": "s"}, "loopback"),
        ({"ALEXA_CLIENT_ID": "id"}, "ALEXA_CLIENT_SECRET"),
        ({"ALEXA_CLIENT_SECRET": "secret"}, "ALEXA_CLIENT_ID"),
        (
            {"ALEXA_CLIENT_ID": "id", "ALEXA_CLIENT_SECRET": "s", "ALEXA_SKILL_STAGE": "beta"},
            "ALEXA_SKILL_STAGE",
        ),
    ],
)
def test_env_misconfiguration_is_an_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        channel_from_env(env)


# -- Skill Messaging (placement requests) -----------------------------------------------------------


def make_placement(n: int = 1, *, user: str = USER, hours: float = 12) -> PlacementRequest:
    occurrence = NOW.replace(second=0) + timedelta(hours=hours)
    return PlacementRequest(
        reminder_id=n,
        alexa_user_id=user,
        occurrence_at=occurrence,
        reference_id=reference_id_for(n, occurrence),
        expires_at=occurrence - timedelta(minutes=1),
    )


@pytest.fixture
def messaging(stub: AlexaApiStub) -> Iterator[SkillMessagingChannel]:
    channel = SkillMessagingChannel(
        stub.client_id,
        stub.client_secret,
        api_endpoint=stub.url,
        token_url=stub.token_url,
        utcnow=lambda: NOW,
    )
    yield channel
    channel.close()


def place(channel: SkillMessagingChannel, request: PlacementRequest) -> SendResult:
    return aio.run(channel.request_placement(request))


def test_a_placement_request_is_a_skill_message_with_string_data_until_just_before_its_time(
    stub: AlexaApiStub, messaging: SkillMessagingChannel
) -> None:
    request = make_placement(5, user="amzn1.ask.account.A|B")
    result = place(messaging, request)
    assert (result.outcome, result.status) == (Outcome.DELIVERED, 202)
    [message] = stub.messages
    assert message["user"] == "amzn1.ask.account.A|B", "the userId is escaped in the path and read back"
    assert message["data"] == {
        "action": "place",
        "reminder": "5",
        "occurrence": request.occurrence_at.isoformat().replace("+00:00", "Z"),
        "reference": request.reference_id,
    }
    assert message["expires_after"] == 12 * 3600 - 60 - 7, "until a minute before the occurrence"
    assert messaging.url_for("amzn1.ask.account.A|B").endswith(
        "/v1/skillmessages/users/amzn1.ask.account.A%7CB"
    )


def test_message_expiry_is_clamped_to_what_skill_messaging_allows(
    stub: AlexaApiStub, messaging: SkillMessagingChannel
) -> None:
    assert place(messaging, make_placement(1, hours=0.01)).outcome is Outcome.DELIVERED
    assert place(messaging, make_placement(2, hours=30)).outcome is Outcome.DELIVERED
    assert [m["expires_after"] for m in stub.messages] == [60, 86_400]


def test_messaging_uses_its_own_token_refreshed_once_when_refused(
    stub: AlexaApiStub, messaging: SkillMessagingChannel
) -> None:
    assert place(messaging, make_placement(1)).outcome is Outcome.DELIVERED
    assert place(messaging, make_placement(2)).outcome is Outcome.DELIVERED
    assert stub.token_grants == 1, "cached"
    stub.revoke_tokens()
    assert place(messaging, make_placement(3)).outcome is Outcome.DELIVERED
    assert stub.token_grants == 2 and len(stub.messages) == 3


def test_messaging_failures_map_to_retry_or_rejected(
    stub: AlexaApiStub, messaging: SkillMessagingChannel
) -> None:
    stub.fail_messages_next(429, retry_after=7)
    throttled = place(messaging, make_placement(1))
    assert (throttled.outcome, throttled.retry_after) == (Outcome.RETRY, 7.0)
    stub.fail_messages_next(500)
    assert place(messaging, make_placement(2)).outcome is Outcome.RETRY
    stub.fail_messages_next(400)
    assert place(messaging, make_placement(3)).outcome is Outcome.REJECTED
    stub.forget_user(USER)
    gone = place(messaging, make_placement(4))
    assert (gone.outcome, gone.status) == (Outcome.REJECTED, 404)
    assert stub.messages == []


def test_messaging_to_nowhere_is_a_retry() -> None:
    port = free_port()
    channel = SkillMessagingChannel(
        "id",
        "secret",
        api_endpoint=f"http://127.0.0.1:{port}",
        token_url=f"http://127.0.0.1:{port}/auth/o2/token",
    )
    try:
        result = place(channel, make_placement(1))
    finally:
        channel.close()
    assert result.outcome is Outcome.RETRY and "LWA token request failed" in result.detail


def test_a_messenger_comes_with_alexa_credentials_only() -> None:
    assert messenger_from_env({}) is None
    assert messenger_from_env({"ALEXA_CLIENT_ID": " ", "ALEXA_CLIENT_SECRET": "x"}) is None
    messenger = messenger_from_env({"ALEXA_CLIENT_ID": "id", "ALEXA_CLIENT_SECRET": "secret"})
    assert isinstance(messenger, SkillMessagingChannel)
    assert messenger.url_for("u") == "https://api.amazonalexa.com/v1/skillmessages/users/u"
