"""What a delivery channel is: the notice it sends, the outcome it reports, and its interface."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Final, Protocol, Self, runtime_checkable

import aiohttp
from yarl import URL

from scheduler import aio

# Amazon's rule for Proactive Events referenceId; the webhook uses the same id as its idempotency key.
REFERENCE_ID_RE = re.compile(r"[A-Za-z0-9~]{1,100}")


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")


@dataclass(frozen=True)
class Notice:
    """One reminder occurrence to deliver to one user."""

    reminder_id: int
    alexa_user_id: str
    kind: str  # "stretch" (bedtime stretch) or "water" (hydration)
    occurrence_at: datetime  # aware UTC: the scheduled occurrence
    reference_id: str  # stable per occurrence, so a resend is recognised as a duplicate
    locale: str  # e.g. "en-US"
    expires_at: datetime  # aware UTC

    def __post_init__(self) -> None:
        # Fail at construction rather than with an opaque 400 from Amazon later.
        _require_aware("occurrence_at", self.occurrence_at)
        _require_aware("expires_at", self.expires_at)
        if not REFERENCE_ID_RE.fullmatch(self.reference_id):
            raise ValueError(
                f"reference_id must be 1-100 characters of [A-Za-z0-9~], got {self.reference_id!r}"
            )


@dataclass(frozen=True)
class PlacementRequest:
    """Ask the skill, out of session, to place one occurrence on the user's device (a Skill Message).

    ``expires_at`` bounds Alexa's redelivery of the message: after it, a device reminder could no
    longer be placed in time, and the worker's fire-time check sends a notification instead.
    """

    reminder_id: int
    alexa_user_id: str
    occurrence_at: datetime  # aware UTC
    reference_id: str
    expires_at: datetime  # aware UTC

    def __post_init__(self) -> None:
        _require_aware("occurrence_at", self.occurrence_at)
        _require_aware("expires_at", self.expires_at)


def reference_id_for(reminder_id: int, occurrence_at: datetime) -> str:
    """A stable id for one occurrence, e.g. ``cc~r42~20261123T0230Z``.

    Deterministic, so a retry or a second worker sends the same id and Amazon answers 409 instead of
    notifying twice. Seconds (and microseconds) appear only when non-zero, which keeps the usual
    minute-aligned form short while never mapping two distinct instants to one id.
    """
    if reminder_id < 0:
        raise ValueError(f"reminder_id must be >= 0, got {reminder_id}")
    _require_aware("occurrence_at", occurrence_at)
    at = occurrence_at.astimezone(UTC)
    stamp = at.strftime("%Y%m%dT%H%M")
    if at.second or at.microsecond:
        stamp += at.strftime("%S")
        if at.microsecond:
            stamp += f"{at.microsecond:06d}"
    return f"cc~r{reminder_id}~{stamp}Z"


class Outcome(enum.Enum):
    DELIVERED = "delivered"  # accepted by the far end
    DUPLICATE = "duplicate"  # the far end already has this reference_id: treat as delivered
    RETRY = "retry"  # transient (throttled, 5xx, network): try again later
    REJECTED = "rejected"  # the request itself is wrong; retrying will not help
    FORBIDDEN = "forbidden"  # Alexa refused even with a fresh token: permission gone or skill misconfigured


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status: int | None  # HTTP status of the delivery request; None when none was received
    detail: str
    retry_after: float | None = None  # seconds, from a Retry-After header


@runtime_checkable
class Channel(Protocol):
    name: str

    async def send(self, notice: Notice) -> SendResult:
        """Deliver one notice. Never raises for network or HTTP errors; they map to a SendResult."""
        ...

    def close(self) -> None:
        """Release pooled connections (safe to call from any thread but the send loop)."""
        ...


@runtime_checkable
class Messenger(Protocol):
    """Reaches the skill out of session, so it can place a device reminder (Skill Messaging)."""

    name: str

    async def request_placement(self, request: PlacementRequest) -> SendResult:
        """Send one placement request. Never raises for network or HTTP errors."""
        ...

    def close(self) -> None: ...


# What every accepted send returns: SendResult is immutable, so one object per status serves all.
ACCEPTED: Final = {status: SendResult(Outcome.DELIVERED, status, "accepted") for status in (200, 202)}


def is_retryable_status(status: int) -> bool:
    """Request timeout, throttling and server errors are worth another try; other failures are not."""
    return status in (408, 429) or 500 <= status <= 599


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; parsedate_to_datetime leaves "-0000" naive
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def excerpt(text: str, limit: int = 200) -> str:
    """A short single-line excerpt of a response body for SendResult.detail and logs."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def classify_http(
    status: int,
    body: str,
    retry_after: str | None,
    *,
    delivered: bool,
    duplicate: str,
    now: datetime | None = None,
) -> SendResult:
    """Map an HTTP answer to an outcome: accepted, already delivered (409), worth a retry, or not.

    Everything that is neither accepted, a duplicate nor retryable (400, other 4xx, unexpected
    1xx/3xx) is REJECTED: sending the same request again will not help.
    """
    if delivered:
        return ACCEPTED.get(status) or SendResult(Outcome.DELIVERED, status, "accepted")
    if status == 409:
        return SendResult(Outcome.DUPLICATE, status, duplicate)
    if is_retryable_status(status):
        return SendResult(
            Outcome.RETRY,
            status,
            excerpt(body) or "retryable status",
            parse_retry_after(retry_after, now=now),
        )
    return SendResult(Outcome.REJECTED, status, excerpt(body) or f"unexpected HTTP {status}")


@dataclass(frozen=True)
class HttpReply:
    status: int
    text: str
    retry_after: str | None  # the raw Retry-After header


# Per request: 10 s in all, 3 s to connect. A notice that takes longer is retried later.
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=10.0, connect=3.0)
DEFAULT_MAX_CONNECTIONS: Final = 512
# Reply bodies are only read for log excerpts and the token; a huge one is cut here.
MAX_REPLY_BYTES: Final = 64 * 1024
TRANSPORT_ERRORS: Final = (aiohttp.ClientError, TimeoutError)


class PooledHttpChannel:
    """The HTTP plumbing both network channels share: one pooled aiohttp session on the send loop.

    The session is opened lazily on the loop of the first send (``scheduler.aio``'s shared loop in
    the worker), with keep-alive connections up to ``max_connections``. Redirects are never
    followed: they would carry a signed payload or a bearer token to a host nobody configured.
    """

    def __init__(self, *, timeout: aiohttp.ClientTimeout, max_connections: int) -> None:
        self._timeout = timeout
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections, limit_per_host=self._max_connections, ttl_dns_cache=300
                ),
                timeout=self._timeout,
                headers={"User-Agent": "cramp-coach-scheduler"},
                # Cookies mean nothing to these APIs; skipping the jar saves work per request.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def _post(self, url: str | URL, *, headers: Mapping[str, str], body: bytes) -> HttpReply:
        """POST ``body``; raises one of TRANSPORT_ERRORS when no HTTP answer came back."""
        async with self._http().post(url, data=body, headers=headers, allow_redirects=False) as response:
            content = response.content
            # An empty body (Amazon's 202) is already at its end: nothing to await or decode.
            raw = b"" if content.at_eof() else await content.read(MAX_REPLY_BYTES)
            return HttpReply(
                response.status,
                raw.decode("utf-8", "replace") if raw else "",
                response.headers.get("Retry-After"),
            )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def close(self) -> None:
        if self._session is not None and not self._session.closed:
            aio.run(self.aclose())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def transport_failure(exc: BaseException) -> SendResult:
    """No HTTP answer (refused, reset, timed out): safe to retry, the referenceId makes a resend a 409."""
    detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
    return SendResult(Outcome.RETRY, None, excerpt(detail))
