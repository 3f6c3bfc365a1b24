"""A local stand-in for the Alexa APIs the scheduler and skill call, speaking their wire formats.

Endpoints:

- ``POST /auth/o2/token`` (any case: Amazon documents ``/auth/O2/token``): LWA client credentials,
  for the scopes ``alexa::proactive_events`` and ``alexa:skill_messaging`` (a token works for its
  own scope only).
- ``POST /v1/proactiveEvents`` (live) and ``/v1/proactiveEvents/stages/development``.
- ``GET /v2/devices/<deviceId>/settings/System.timeZone``: the Settings API.
- ``POST /v1/skillmessages/users/<userId>``: Skill Messaging. 202, then, like Alexa, it posts a
  ``Messaging.MessageReceived`` request to the skill's endpoint (``skill_endpoint``) from a thread
  of its own, with a fresh ``apiAccessToken`` for that user, and delivers again (30 s, doubling,
  sped up by ``message_speedup``) until the skill answers 2xx or ``expiresAfterSeconds`` passes.
- ``/v1/alerts/reminders``: the Reminders API (create, get, update, delete, list) with the
  documented errors: 401 for a token it did not issue (or older than an hour), 403 without the
  user's reminders permission or past ``max_reminders``, 404 for an unknown alertToken, 400 for a
  body it would refuse, 429 when scripted. ``delete_in_app`` deletes one as the user would in the
  Alexa app and posts ``Reminders.ReminderDeleted`` to the skill.

It records what it receives (thread-safe) and can be scripted to fail, so tests can check both the
requests we send and how we react to Amazon's error codes. It can also inject faults at random
(``faults``: a share of events answered 500 or 429, ``throttle``: a share answered 429, both with
``Retry-After``) and wait ``delay`` seconds before answering each event, like Amazon's round trip.
Plain http on 127.0.0.1 only.

Two servers share the same handling: a threaded Werkzeug server in the test's own process (the
default), and ``--fast``, an aiohttp server for its own process that keeps thousands of events in
flight (the dispatch benchmark). ``GET /_stub/stats`` reports what it counted: every accepted
referenceId with its arrival time, and every 409. ``POST /_stub/users/<userId>/api-token`` grants
that user the reminders permission and returns an apiAccessToken for them.

Standalone, for local development::

    python -m tests.stubs.alexa_api --port 8088 [--fast] [--delay 0.05] [--throttle 0.02]
        [--skill-endpoint http://127.0.0.1:5000/alexa]   # deliver skill messages to a local skill
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ipaddress
import json
import random
import re
import secrets
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.stub"
DEFAULT_CLIENT_SECRET = "stub-client-secret"
PROACTIVE_SCOPE = "alexa::proactive_events"
SKILL_MESSAGING_SCOPE = "alexa:skill_messaging"
SCOPES = (PROACTIVE_SCOPE, SKILL_MESSAGING_SCOPE)
DEFAULT_SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-00000000c0c0"
# The longest reminder text the stub takes. Amazon's reference gives no figure we could confirm;
# the skill keeps to the same bound (skill/device_reminders.py).
SPOKEN_TEXT_MAX = 250
MESSAGE_DATA_MAX = 6 * 1024  # Skill Messaging: the data object, keys and values, at most 6 KB
API_TOKEN_LIFETIME = timedelta(hours=1)  # an apiAccessToken is valid for 60 minutes
_MESSAGE_PATH_RE = re.compile(r"/v1/skillmessages/users/([^/]+)")
_REMINDER_PATH_RE = re.compile(r"/v1/alerts/reminders/([^/]+)")
_REMINDERS_PATH = "/v1/alerts/reminders"
# Scripting a stub in another process (the benchmarks): grant a user the reminders permission
# and get an apiAccessToken for them.
_STUB_USER_PATH_RE = re.compile(r"/_stub/users/([^/]+)/api-token")
_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")

_REFERENCE_ID_RE = re.compile(r"[A-Za-z0-9~]{1,100}")
_TIME_ZONE_PATH_RE = re.compile(r"/v2/devices/([^/]+)/settings/System\.timeZone")
_EVENT_PATHS = {
    "/v1/proactiveEvents": "live",
    "/v1/proactiveEvents/stages/development": "development",
}
_MIN_EXPIRY = timedelta(minutes=5)
_MAX_EXPIRY = timedelta(hours=24)


@dataclass(frozen=True)
class _Forced:
    status: int
    retry_after: float | None
    body: Mapping[str, Any] | None


@dataclass(frozen=True)
class Reply:
    """One answer, independent of the server that writes it."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(
        status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


def _error(status: int, code: str, message: str) -> Reply:
    return _json(status, {"code": code, "message": message})


def _parse_form_tolerantly(raw: str) -> dict[str, str]:
    """Split ``a=b&c=d`` keeping values raw: LWA clients do not always URL-encode the body."""
    fields: dict[str, str] = {}
    for part in raw.split("&"):
        if part:
            key, _, value = part.partition("=")
            fields[unquote_plus(key.strip())] = value.strip()
    return fields


def _same(raw: str | None, expected: str) -> bool:
    # Accept the value as sent, form-decoded, or percent-decoded: whichever encoding the client chose.
    return raw is not None and expected in (raw, unquote_plus(raw), unquote(raw))


def _iso_time(value: Any) -> datetime | None:
    """An ISO 8601 date-time, with or without an offset; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _parse_time(value: Any) -> datetime | None:
    parsed = _iso_time(value)
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def validate_event(body: Any) -> list[str]:
    """Problems with a Proactive Events request body, as Amazon would reject it (empty if fine)."""
    if not isinstance(body, dict):
        return ["body must be a JSON object"]
    problems: list[str] = []
    timestamp = _parse_time(body.get("timestamp"))
    expiry = _parse_time(body.get("expiryTime"))
    if timestamp is None:
        problems.append("timestamp must be an ISO 8601 date-time with a UTC offset")
    if expiry is None:
        problems.append("expiryTime must be an ISO 8601 date-time with a UTC offset")
    if timestamp and expiry and not (_MIN_EXPIRY <= expiry - timestamp <= _MAX_EXPIRY):
        problems.append("expiryTime must be between 5 minutes and 24 hours after timestamp")
    reference_id = body.get("referenceId")
    if not isinstance(reference_id, str) or not _REFERENCE_ID_RE.fullmatch(reference_id):
        problems.append("referenceId must be 1-100 characters of [A-Za-z0-9~]")
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("name"), str) or not event["name"]:
        problems.append("event.name is required")
    elif not isinstance(event.get("payload"), dict):
        problems.append("event.payload must be an object")
    elif event["name"] == "AMAZON.MessageAlert.Activated":
        payload = event["payload"]
        state, group = payload.get("state"), payload.get("messageGroup")
        if not isinstance(state, dict) or not state.get("status"):
            problems.append("event.payload.state.status is required for AMAZON.MessageAlert.Activated")
        if (
            not isinstance(group, dict)
            or not isinstance(group.get("creator"), dict)
            or not group["creator"].get("name")
        ):
            problems.append("event.payload.messageGroup.creator.name is required")
    localized = body.get("localizedAttributes")
    if not isinstance(localized, list) or not all(
        isinstance(item, dict) and isinstance(item.get("locale"), str) for item in localized
    ):
        problems.append("localizedAttributes must be a list of objects with a locale")
    audience = body.get("relevantAudience")
    if not isinstance(audience, dict) or audience.get("type") not in ("Unicast", "Multicast"):
        problems.append("relevantAudience.type must be Unicast or Multicast")
    elif audience["type"] == "Unicast":
        payload = audience.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("user"), str) or not payload["user"]:
            problems.append("relevantAudience.payload.user is required for Unicast")
    return problems


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as pooled clients expect

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # tests read stub.requests instead of a line per request on stderr


class _Server(ThreadedWSGIServer):
    request_queue_size = 1024  # the default backlog of 5 stalls bursts of concurrent connections


class AlexaApiStub:
    """The stub server. Use :func:`start_stub`, or ``with AlexaApiStub(...) as stub:``."""

    def __init__(
        self,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        *,
        expires_in: int = 3600,
        default_time_zone: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        record_bodies: bool = True,
        seed: int = 0,
        skill_endpoint: str | None = None,
        skill_id: str = DEFAULT_SKILL_ID,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in  # may be changed between requests, e.g. to test refreshing
        self.default_time_zone = default_time_zone
        self.delay = 0.0  # seconds to wait before answering a proactive event
        self.faults = 0.0  # share of events answered 500 or 429 (half each), at random
        self.throttle = 0.0  # share of events answered 429, at random
        self.retry_after: float | None = 1.0  # the Retry-After sent with random 429s
        # The benchmark's 100,000 events: keep referenceIds and arrival times, not whole bodies.
        self.record_bodies = record_bodies
        self._rng = random.Random(seed)
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}  # LWA access token -> its scope
        self._token_grants = 0
        self._events: list[dict[str, Any]] = []
        self._accepted: dict[tuple[str, str | None, str], float] = {}  # -> arrival time
        self._duplicates: collections.Counter[str] = collections.Counter()
        self._statuses: collections.Counter[int] = collections.Counter()
        self._requests: list[dict[str, Any]] = []
        self._forced: collections.deque[_Forced] = collections.deque()
        self._forced_tz: collections.deque[int] = collections.deque()
        self._time_zones: dict[str, str] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Skill Messaging and the Reminders API.
        self.skill_endpoint = skill_endpoint  # the skill's /alexa URL (loopback only)
        self.skill_id = skill_id
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.max_reminders = 100  # a user's reminders before create answers 403
        self.message_speedup = 1.0  # Alexa's redelivery waits (30 s, doubling) divided by this
        self._api_tokens: dict[str, tuple[str, datetime]] = {}  # apiAccessToken -> (user, issued)
        self._reminder_users: set[str] = set()  # users who granted the reminders permission
        self._unknown_users: set[str] = set()  # userIds Skill Messaging answers 404 for
        self._device: dict[str, dict[str, Any]] = {}  # alertToken -> the stored reminder
        self._forced_messages: collections.deque[_Forced] = collections.deque()
        self._forced_reminders: collections.deque[_Forced] = collections.deque()
        self._messages: list[dict[str, Any]] = []
        self._deliveries: list[dict[str, Any]] = []  # every request posted to the skill
        self._outbox: collections.deque[dict[str, Any]] = collections.deque()
        self._outbox_ready = threading.Condition(self._lock)
        self._delivering = 0
        self._courier: threading.Thread | None = None
        self._stopping = False

    # -- lifecycle (the threaded server) ---------------------------------------------------------

    def start(self) -> AlexaApiStub:
        if self._server is not None:
            raise RuntimeError("stub already started")
        self._server = _Server(self._host, self._port, self._wsgi, handler=_QuietHandler)
        # A short poll interval makes stop() quick (the default 0.5 s adds up over a test suite).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="alexa-api-stub",
            daemon=True,
        )
        self._thread.start()
        self._courier = threading.Thread(
            target=self._deliver_messages, name="alexa-api-stub-courier", daemon=True
        )
        self._courier.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        with self._lock:
            self._stopping = True
            self._outbox_ready.notify_all()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        if self._courier is not None:
            self._courier.join(timeout=5)
            self._courier = None

    def __enter__(self) -> AlexaApiStub:
        return self if self._server is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``: use it as ALEXA_API_ENDPOINT and the apiEndpoint."""
        if self._server is None:
            raise RuntimeError("stub is not running")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def token_url(self) -> str:
        """The LWA token URL on this stub: use it as LWA_TOKEN_URL."""
        return self.url + "/auth/o2/token"

    # -- what it saw -----------------------------------------------------------------------------

    @property
    def events(self) -> list[dict[str, Any]]:
        """Accepted events as dicts: stage, path, user, reference_id, received_at, access_token, body."""
        with self._lock:
            return list(self._events)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request, in arrival order: ``{"method", "path", "status"}``."""
        with self._lock:
            return list(self._requests)

    @property
    def token_grants(self) -> int:
        with self._lock:
            return self._token_grants

    def stats(self) -> dict[str, Any]:
        """Counts for the benchmark: every accepted event as [referenceId, user, arrival time (epoch
        seconds, before the delay)], the referenceIds answered 409 and how often, and statuses."""
        with self._lock:
            return {
                "accepted": [[ref, user, at] for (_, user, ref), at in self._accepted.items()],
                "duplicates": dict(self._duplicates),
                "statuses": {str(k): v for k, v in sorted(self._statuses.items())},
                "token_grants": self._token_grants,
            }

    # -- scripting -------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: float | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        """Answer the next ``times`` proactive-event requests with ``status``, before any other check."""
        with self._lock:
            self._forced.extend(_Forced(status, retry_after, body) for _ in range(times))

    def fail_timezone(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` time-zone requests with ``status``."""
        with self._lock:
            self._forced_tz.extend([status] * times)

    def set_time_zone(self, device_id: str, zone: str) -> None:
        with self._lock:
            self._time_zones[device_id] = zone

    def revoke_tokens(self) -> None:
        """Make every issued token invalid, as if it expired or was revoked upstream."""
        with self._lock:
            self._tokens.clear()

    # -- scripting: Skill Messaging and reminders --------------------------------------------------

    def issue_api_token(self, user: str) -> str:
        """An apiAccessToken for ``user``, as Alexa puts in a request's context.System."""
        token = "Atza|stub.api." + secrets.token_urlsafe(24)
        with self._lock:
            self._api_tokens[token] = (user, self.clock())
        return token

    def grant_reminders(self, user: str) -> None:
        with self._lock:
            self._reminder_users.add(user)

    def revoke_reminders(self, user: str) -> None:
        with self._lock:
            self._reminder_users.discard(user)

    def forget_user(self, user: str) -> None:
        """Skill Messaging answers 404 for this user from now on (they disabled the skill)."""
        with self._lock:
            self._unknown_users.add(user)

    def fail_messages_next(self, status: int, times: int = 1, *, retry_after: float | None = None) -> None:
        with self._lock:
            self._forced_messages.extend(_Forced(status, retry_after, None) for _ in range(times))

    def fail_reminders_next(
        self, status: int, times: int = 1, *, code: str = "FORCED", retry_after: float | None = None
    ) -> None:
        """Answer the next ``times`` Reminders API calls with ``status`` (after the token check)."""
        body = {"code": code, "message": f"HTTP {status} forced by the stub"}
        with self._lock:
            self._forced_reminders.extend(_Forced(status, retry_after, body) for _ in range(times))

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Skill messages accepted: user, data, expires_after, accepted_at, and each delivery's status."""
        with self._lock:
            return [dict(m, attempts=list(m["attempts"])) for m in self._messages]

    @property
    def posted(self) -> list[dict[str, Any]]:
        """Every request the stub posted to the skill: type, user, status (None: no answer)."""
        with self._lock:
            return list(self._deliveries)

    def device_reminders(self, user: str | None = None) -> list[dict[str, Any]]:
        """The reminders on users' devices: alert_token, user, body (as last set), text,
        fires_at (aware UTC), created_at, updated_at."""
        with self._lock:
            return [dict(r) for r in self._device.values() if user is None or r["user"] == user]

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every accepted message was delivered, or gave up (a safety net, not a timing)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._outbox or self._delivering:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._outbox)} skill message(s) still undelivered")
                self._outbox_ready.wait(min(left, 0.05))

    def delete_in_app(self, alert_token: str, *, notify: bool = True) -> None:
        """The user deletes a reminder in the Alexa app: gone, and (``notify``) Reminders.ReminderDeleted
        is posted to the skill, as to a skill subscribed to REMINDER_DELETED."""
        with self._lock:
            reminder = self._device.pop(alert_token)
        if notify:
            self._post_to_skill(
                reminder["user"],
                {"type": "Reminders.ReminderDeleted", "body": {"alertTokens": [alert_token]}},
            )

    def reset(self) -> None:
        """Forget recorded traffic, accepted reference ids and scripted failures (tokens stay valid)."""
        with self._lock:
            self._events.clear()
            self._accepted.clear()
            self._duplicates.clear()
            self._statuses.clear()
            self._requests.clear()
            self._forced.clear()
            self._forced_tz.clear()
            self._token_grants = 0
            self._messages.clear()
            self._deliveries.clear()
            self._forced_messages.clear()
            self._forced_reminders.clear()

    # -- HTTP, whichever server carries it ---------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        received_at = time.time()
        if self.delay > 0 and request.path in _EVENT_PATHS:
            time.sleep(self.delay)
        reply = self.handle(request.method, request.path, request.headers, request.get_data(), received_at)
        response = Response(reply.body, status=reply.status, headers=reply.headers)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, received_at: float
    ) -> Reply:
        """Answer one request (after the server waited ``delay`` for an event) and record it."""
        reply = self._dispatch(method, path, headers, body, received_at)
        with self._lock:
            if path in _EVENT_PATHS:
                self._statuses[reply.status] += 1
            if self.record_bodies:
                self._requests.append({"method": method, "path": path, "status": reply.status})
        return reply

    def _dispatch(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, received_at: float
    ) -> Reply:
        if path.lower() == "/auth/o2/token":
            return self._token(body) if method == "POST" else _error(405, "METHOD_NOT_ALLOWED", "POST only")
        if path in _EVENT_PATHS:
            if method != "POST":
                return _error(405, "METHOD_NOT_ALLOWED", "POST only")
            return self._proactive_event(path, headers, body, _EVENT_PATHS[path], received_at)
        if path == "/_stub/stats" and method == "GET":
            return _json(200, self.stats())
        stub_user = _STUB_USER_PATH_RE.fullmatch(path)
        if stub_user and method == "POST":
            user = unquote(stub_user.group(1))
            self.grant_reminders(user)
            return _json(200, {"apiAccessToken": self.issue_api_token(user)})
        match = _MESSAGE_PATH_RE.fullmatch(path)
        if match:
            if method != "POST":
                return _error(405, "METHOD_NOT_ALLOWED", "POST only")
            return self._skill_message(unquote(match.group(1)), headers, body)
        if path == _REMINDERS_PATH or _REMINDER_PATH_RE.fullmatch(path):
            match = _REMINDER_PATH_RE.fullmatch(path)
            return self._reminders(method, unquote(match.group(1)) if match else None, headers, body)
        match = _TIME_ZONE_PATH_RE.fullmatch(path)
        if match:
            return (
                self._time_zone(headers, match.group(1))
                if method == "GET"
                else _error(405, "METHOD_NOT_ALLOWED", "GET only")
            )
        return _error(404, "NOT_FOUND", f"no stub endpoint for {method} {path}")

    def _token(self, body: bytes) -> Reply:
        fields = _parse_form_tolerantly(body.decode("utf-8", "replace"))
        if not _same(fields.get("grant_type"), "client_credentials"):
            return _json(
                400, {"error": "unsupported_grant_type", "error_description": "use client_credentials"}
            )
        if not (
            _same(fields.get("client_id"), self.client_id)
            and _same(fields.get("client_secret"), self.client_secret)
        ):
            return _json(
                401, {"error": "invalid_client", "error_description": "Client authentication failed"}
            )
        scope = next((s for s in SCOPES if _same(fields.get("scope"), s)), None)
        if scope is None:
            return _json(
                400,
                {"error": "invalid_scope", "error_description": f"scope must be one of {', '.join(SCOPES)}"},
            )
        token = "Atc|stub." + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = scope
            self._token_grants += 1
            expires_in = self.expires_in
        return _json(
            200,
            {
                "access_token": token,
                "expires_in": expires_in,
                "token_type": "bearer",
                "scope": scope,
            },
            {"Cache-Control": "no-store"},
        )

    def _random_fault(self) -> _Forced | None:
        # Called with the lock held: one seeded generator, so a run's faults are reproducible.
        if self.faults <= 0 and self.throttle <= 0:
            return None
        roll = self._rng.random()
        if roll < self.throttle:
            return _Forced(429, self.retry_after, None)
        if roll < self.throttle + self.faults:
            return (
                _Forced(500, None, None) if self._rng.random() < 0.5 else _Forced(429, self.retry_after, None)
            )
        return None

    def _proactive_event(
        self, path: str, headers: Mapping[str, str], raw: bytes, stage: str, received_at: float
    ) -> Reply:
        with self._lock:
            forced = self._forced.popleft() if self._forced else self._random_fault()
        if forced is not None:
            extra = {"Retry-After": f"{forced.retry_after:g}"} if forced.retry_after is not None else None
            payload = (
                forced.body
                if forced.body is not None
                else {
                    "code": "FORCED",
                    "message": f"HTTP {forced.status} forced by the stub",
                }
            )
            return _json(forced.status, payload, extra)
        token = _bearer(headers)
        with self._lock:
            authorised = token is not None and self._tokens.get(token) == PROACTIVE_SCOPE
        if not authorised:
            return _error(403, "FORBIDDEN", "missing, unknown or revoked access token")
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "INVALID_REQUEST", "body is not valid JSON")
        problems = validate_event(body)
        if problems:
            return _error(400, "INVALID_REQUEST", "; ".join(problems))
        audience = body["relevantAudience"]
        user = audience["payload"]["user"] if audience["type"] == "Unicast" else None
        # Keyed by stage too: development and live are separate services at Amazon.
        key = (stage, user, body["referenceId"])
        with self._lock:
            if key in self._accepted:
                self._duplicates[body["referenceId"]] += 1
                return _error(
                    409, "DUPLICATE", "an event with this referenceId was already accepted for this user"
                )
            self._accepted[key] = received_at
            if self.record_bodies:
                self._events.append(
                    {
                        "stage": stage,
                        "path": path,
                        "user": user,
                        "reference_id": body["referenceId"],
                        "received_at": received_at,
                        "access_token": token,
                        "body": body,
                    }
                )
        return Reply(202)

    def _time_zone(self, headers: Mapping[str, str], device_id: str) -> Reply:
        if not _bearer(headers):
            return _error(403, "FORBIDDEN", "a Bearer apiAccessToken is required")
        with self._lock:
            forced = self._forced_tz.popleft() if self._forced_tz else None
            zone = self._time_zones.get(device_id, self.default_time_zone)
        if forced is not None:
            return _error(forced, "FORCED", f"HTTP {forced} forced by the stub")
        if zone is None:
            return _error(404, "DEVICE_NOT_FOUND", f"no time zone configured for device {device_id}")
        return _json(200, zone)  # Amazon replies with a bare JSON string

    # -- Skill Messaging --------------------------------------------------------------------------

    def _skill_message(self, user: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        with self._lock:
            forced = self._forced_messages.popleft() if self._forced_messages else None
        if forced is not None:
            extra = {"Retry-After": f"{forced.retry_after:g}"} if forced.retry_after is not None else None
            return _json(forced.status, {"message": f"HTTP {forced.status} forced by the stub"}, extra)
        token = _bearer(headers)
        with self._lock:
            authorised = token is not None and self._tokens.get(token) == SKILL_MESSAGING_SCOPE
            unknown = user in self._unknown_users
        if not authorised:
            return _json(403, {"message": "The skill messaging authentication token is expired or not valid"})
        if unknown:
            return _json(404, {"message": "The passed userId does not exist"})
        try:
            body = json.loads(raw)
        except ValueError:
            return _json(400, {"message": "Data is missing or not valid: body is not JSON"})
        problem = validate_message(body)
        if problem:
            return _json(400, {"message": f"Data is missing or not valid: {problem}"})
        message = {
            "user": user,
            "data": body["data"],
            "expires_after": int(body.get("expiresAfterSeconds", 3600)),
            "accepted_at": time.monotonic(),
            "attempts": [],
        }
        with self._lock:
            self._messages.append(message)
            if self.skill_endpoint:  # with no skill to deliver to, the message is only recorded
                self._outbox.append(message)
                self._outbox_ready.notify_all()
        return Reply(202)

    def _deliver_messages(self) -> None:
        """The courier: each accepted message to the skill, redelivered until 2xx or its expiry."""
        while True:
            with self._lock:
                while not self._outbox and not self._stopping:
                    self._outbox_ready.wait(0.1)
                if self._stopping:
                    return
                message = self._outbox.popleft()
                self._delivering += 1
            try:
                self._deliver(message)
            finally:
                with self._lock:
                    self._delivering -= 1
                    self._outbox_ready.notify_all()

    def _deliver(self, message: dict[str, Any]) -> None:
        wait, waited = 30.0, 0.0
        while True:
            status = self._post_to_skill(
                message["user"], {"type": "Messaging.MessageReceived", "message": message["data"]}
            )
            with self._lock:
                message["attempts"].append(status)
            if status is not None and 200 <= status < 300:
                return
            if waited + wait > message["expires_after"]:
                return
            with self._lock:  # a wait that stop() cuts short
                if self._stopping or self._outbox_ready.wait_for(
                    lambda: self._stopping, wait / self.message_speedup
                ):
                    return
            waited += wait
            wait *= 2

    def _post_to_skill(self, user: str, request: Mapping[str, Any]) -> int | None:
        """POST a request to the skill as Alexa would (plain JSON, unsigned); its status, or None."""
        endpoint = self.skill_endpoint
        if not endpoint:
            raise RuntimeError("the stub has no skill_endpoint to deliver to")
        host = urlsplit(endpoint).hostname or ""
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise RuntimeError(f"the stub posts to loopback skill endpoints only, not {host!r}")
        envelope = {
            "version": "1.0",
            "context": {
                "System": {
                    "application": {"applicationId": self.skill_id},
                    "user": {"userId": user},
                    "apiEndpoint": self.url,
                    "apiAccessToken": self.issue_api_token(user),
                }
            },
            "request": {
                "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
                "timestamp": self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                **request,
            },
        }
        post = urllib.request.Request(
            endpoint, data=json.dumps(envelope).encode(), headers={"Content-Type": "application/json"}
        )
        status: int | None
        try:
            with urllib.request.urlopen(post, timeout=10) as response:  # loopback only, checked above
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = None
        with self._lock:
            self._deliveries.append({"type": request["type"], "user": user, "status": status})
        return status

    # -- Reminders API ----------------------------------------------------------------------------

    def _reminders(
        self, method: str, alert_token: str | None, headers: Mapping[str, str], raw: bytes
    ) -> Reply:
        token = _bearer(headers)
        now = self.clock()
        with self._lock:
            issued = self._api_tokens.get(token or "")
        if issued is None or now - issued[1] > API_TOKEN_LIFETIME:
            return _error(401, "INVALID_BEARER_TOKEN", "the access token is unknown or expired")
        user = issued[0]
        with self._lock:
            forced = self._forced_reminders.popleft() if self._forced_reminders else None
            permitted = user in self._reminder_users
        if forced is not None:
            extra = {"Retry-After": f"{forced.retry_after:g}"} if forced.retry_after is not None else None
            return _json(forced.status, forced.body or {}, extra)
        if not permitted:
            return _error(403, "NOT_PERMITTED", "the user has not granted the reminders permission")
        if alert_token is None:
            if method == "GET":
                with self._lock:
                    alerts = [self._view(r) for r in self._device.values() if r["user"] == user]
                return _json(200, {"totalCount": str(len(alerts)), "alerts": alerts, "links": None})
            if method == "POST":
                return self._write(user, None, raw, now)
            return _error(405, "METHOD_NOT_ALLOWED", "GET or POST")
        with self._lock:
            found = self._device.get(alert_token)
        if found is None or found["user"] != user:
            return _error(404, "NOT_FOUND", "no reminder with this alertToken")
        if method == "GET":
            return _json(200, self._view(found))
        if method == "PUT":
            return self._write(user, alert_token, raw, now)
        if method == "DELETE":
            with self._lock:
                self._device.pop(alert_token, None)
            return Reply(200)
        return _error(405, "METHOD_NOT_ALLOWED", "GET, PUT or DELETE")

    def _write(self, user: str, alert_token: str | None, raw: bytes, now: datetime) -> Reply:
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "INVALID_REQUEST", "body is not valid JSON")
        problems, fires_at = validate_reminder(body, now)
        if problems:
            return _error(400, "INVALID_REQUEST", "; ".join(problems))
        with self._lock:
            if alert_token is None:
                if sum(1 for r in self._device.values() if r["user"] == user) >= self.max_reminders:
                    return _error(403, "MAX_REMINDERS_EXCEEDED", "this user has the most reminders allowed")
                alert_token = "amzn1.alert.reminder." + uuid.uuid4().hex
                created = now
                version = 1
            else:
                created = self._device[alert_token]["created_at"]
                version = self._device[alert_token]["version"] + 1
            self._device[alert_token] = {
                "alert_token": alert_token,
                "user": user,
                "body": body,
                "text": body["alertInfo"]["spokenInfo"]["content"][0].get("text"),
                "fires_at": fires_at,
                "created_at": created,
                "updated_at": now,
                "version": version,
            }
        stamp = _stamp(now)
        return _json(
            200,
            {
                "alertToken": alert_token,
                "createdTime": _stamp(created),
                "updatedTime": stamp,
                "status": "ON",
                "version": str(version),
                "href": f"{_REMINDERS_PATH}/{alert_token}",
            },
        )

    @staticmethod
    def _view(reminder: Mapping[str, Any]) -> dict[str, Any]:
        body = reminder["body"]
        return {
            "alertToken": reminder["alert_token"],
            "createdTime": _stamp(reminder["created_at"]),
            "updatedTime": _stamp(reminder["updated_at"]),
            "status": "ON",
            "trigger": body["trigger"],
            "alertInfo": body["alertInfo"],
            "pushNotification": body.get("pushNotification", {"status": "ENABLED"}),
            "version": str(reminder["version"]),
        }


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def validate_message(body: Any) -> str | None:
    """Why Skill Messaging would refuse this body (400), or None."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return "data must be an object"
    data = body["data"]
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return "data keys and values must be strings"
    if len(json.dumps(data, separators=(",", ":")).encode()) > MESSAGE_DATA_MAX:
        return "data is over 6 KB"
    expires = body.get("expiresAfterSeconds", 3600)
    if not isinstance(expires, int) or isinstance(expires, bool) or not 60 <= expires <= 86_400:
        return "expiresAfterSeconds must be a whole number from 60 to 86400"
    return None


def _local_time(value: Any) -> datetime | None:
    """A scheduledTime: ISO 8601 with no offset (the API refuses a 'Z' or an offset)."""
    parsed = _iso_time(value)
    return parsed if parsed is not None and parsed.tzinfo is None else None


def validate_reminder(body: Any, now: datetime) -> tuple[list[str], datetime | None]:
    """Problems with a Reminders API body, as the API would refuse it, and when it first fires."""
    if not isinstance(body, dict):
        return ["body must be a JSON object"], None
    problems: list[str] = []
    fires_at: datetime | None = None
    if _iso_time(body.get("requestTime")) is None:
        problems.append("requestTime must be an ISO 8601 date-time")
    trigger = body.get("trigger")
    if not isinstance(trigger, dict) or trigger.get("type") not in (
        "SCHEDULED_ABSOLUTE",
        "SCHEDULED_RELATIVE",
    ):
        problems.append("trigger.type must be SCHEDULED_ABSOLUTE or SCHEDULED_RELATIVE")
    elif trigger["type"] == "SCHEDULED_ABSOLUTE":
        local = _local_time(trigger.get("scheduledTime"))
        zone_name = trigger.get("timeZoneId")
        zone: ZoneInfo | None = None
        try:
            zone = ZoneInfo(zone_name) if isinstance(zone_name, str) else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        if local is None:
            problems.append("trigger.scheduledTime must be a local ISO 8601 date-time with no offset")
        if zone is None:
            problems.append("trigger.timeZoneId must be an IANA time zone")
        if local is not None and zone is not None:
            fires_at = local.replace(tzinfo=zone).astimezone(UTC)
            if fires_at <= now and not trigger.get("recurrence"):
                problems.append("trigger.scheduledTime is in the past")
    else:
        offset = trigger.get("offsetInSeconds")
        if isinstance(offset, str) and offset.isdigit():
            offset = int(offset)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset <= 0:
            problems.append("trigger.offsetInSeconds must be a positive whole number")
        else:
            fires_at = now + timedelta(seconds=offset)
    recurrence = trigger.get("recurrence") if isinstance(trigger, dict) else None
    if recurrence is not None and not _recurrence_ok(recurrence):
        problems.append("trigger.recurrence is not a valid recurrence")
    content = ((body.get("alertInfo") or {}).get("spokenInfo") or {}).get("content")
    if not isinstance(content, list) or not content:
        problems.append("alertInfo.spokenInfo.content must be a non-empty list")
    else:
        for item in content:
            if not isinstance(item, dict) or not isinstance(item.get("locale"), str):
                problems.append("each spoken content needs a locale")
            elif not isinstance(item.get("text"), str) and not isinstance(item.get("ssml"), str):
                problems.append("each spoken content needs a text or an ssml")
            elif isinstance(item.get("text"), str) and not 0 < len(item["text"]) <= SPOKEN_TEXT_MAX:
                problems.append(f"spoken text must be 1 to {SPOKEN_TEXT_MAX} characters")
    push = body.get("pushNotification")
    if push is not None and (not isinstance(push, dict) or push.get("status") not in ("ENABLED", "DISABLED")):
        problems.append("pushNotification.status must be ENABLED or DISABLED")
    return problems, fires_at


def _recurrence_ok(recurrence: Any) -> bool:
    if not isinstance(recurrence, dict):
        return False
    rules = recurrence.get("recurrenceRules")
    if rules is not None:
        return isinstance(rules, list) and all(isinstance(r, str) and r.startswith("FREQ=") for r in rules)
    by_day = recurrence.get("byDay", [])
    return (
        recurrence.get("freq") in ("DAILY", "WEEKLY")
        and isinstance(by_day, list)
        and set(by_day) <= set(_DAYS)
    )


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def start_stub(
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    **kwargs: Any,
) -> AlexaApiStub:
    """Start a stub on 127.0.0.1 (a free port); it is also a context manager that stops it."""
    return AlexaApiStub(client_id, client_secret, **kwargs).start()


async def serve_fast(stub: AlexaApiStub, host: str, port: int) -> tuple[str, Any]:
    """Serve ``stub`` with aiohttp on the running loop; returns its base URL and the runner to clean up.

    One process, one loop, thousands of connections: what the threaded server cannot do at the
    benchmark's rates. The waits are ``asyncio.sleep``, so events in flight cost no thread.
    """
    from aiohttp import web

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        received_at = time.time()
        body = await request.read()
        if stub.delay > 0 and request.path in _EVENT_PATHS:
            await asyncio.sleep(stub.delay)
        reply = stub.handle(request.method, request.path, request.headers, body, received_at)
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)

    runner = web.ServerRunner(web.Server(handler), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []  # the port the OS chose for port 0
    bound = sockets[0].getsockname()[1] if sockets else port
    return f"http://{host}:{bound}", runner


def _announce(url: str, stub: AlexaApiStub) -> None:
    print(f"Alexa API stub listening on {url}", flush=True)
    print(
        f"  ALEXA_API_ENDPOINT={url} LWA_TOKEN_URL={url}/auth/o2/token "
        f"ALEXA_CLIENT_ID={stub.client_id} ALEXA_CLIENT_SECRET={stub.client_secret}",
        flush=True,
    )


def _run_fast(stub: AlexaApiStub, port: int) -> None:
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        loop = asyncio.new_event_loop()
    url, runner = loop.run_until_complete(serve_fast(stub, "127.0.0.1", port))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, loop.stop)
    _announce(url, stub)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(runner.cleanup())
        loop.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Local stub of the Alexa LWA, Proactive Events, Settings, Skill Messaging, Reminders APIs"
    )
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--expires-in", type=int, default=3600)
    parser.add_argument("--default-time-zone", default=None, help="answer every device with this zone")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering each event")
    parser.add_argument("--faults", type=float, default=0.0, help="share of events answered 500 or 429")
    parser.add_argument("--throttle", type=float, default=0.0, help="share of events answered 429")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of the random 429s")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random faults")
    parser.add_argument("--fast", action="store_true", help="aiohttp server; keeps only counts, not bodies")
    parser.add_argument(
        "--skill-endpoint",
        default=None,
        help="where to post Messaging.MessageReceived, e.g. http://127.0.0.1:5000/alexa (loopback only)",
    )
    args = parser.parse_args(argv)
    stub = AlexaApiStub(
        args.client_id,
        args.client_secret,
        expires_in=args.expires_in,
        default_time_zone=args.default_time_zone,
        port=args.port,
        record_bodies=not args.fast,
        seed=args.seed,
        skill_endpoint=args.skill_endpoint,
    )
    stub.delay, stub.faults, stub.throttle, stub.retry_after = (
        args.delay,
        args.faults,
        args.throttle,
        args.retry_after,
    )
    if args.fast:
        _run_fast(stub, args.port)
    else:
        stub.start()
        _announce(stub.url, stub)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            stub.stop()
    accepted = len(stub.stats()["accepted"])
    print(f"stopped; accepted {accepted} events, granted {stub.token_grants} tokens", flush=True)


if __name__ == "__main__":
    main()
