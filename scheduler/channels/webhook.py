"""Deliver reminders to an HTTP endpoint of your own (a bot, a phone push relay, a test receiver).

Each POST is signed with HMAC-SHA256 over the exact body bytes, so the receiver can check that it
came from us, and carries the reference id as ``Idempotency-Key`` so a retried POST can be ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC
from typing import Final

import aiohttp

from scheduler.channels.base import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    TRANSPORT_ERRORS,
    Notice,
    PooledHttpChannel,
    SendResult,
    classify_http,
    transport_failure,
)
from scheduler.urls import require_https_or_loopback

SIGNATURE_HEADER: Final = "X-Cramp-Coach-Signature"


def _as_bytes(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(_as_bytes(secret), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Check a signature header against the raw request body, in constant time."""
    if not header:
        return False
    # compare_digest on bytes: a str argument with non-ASCII characters would raise TypeError.
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode("utf-8", "replace"))


def webhook_body(notice: Notice) -> bytes:
    occurrence = notice.occurrence_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    payload = {
        "user_id": notice.alexa_user_id,
        "kind": notice.kind,
        "occurrence_at": occurrence,
        "reference_id": notice.reference_id,
        "locale": notice.locale,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class WebhookChannel(PooledHttpChannel):
    """One pooled session shared by every send in flight."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if not secret:
            raise ValueError("WebhookChannel needs a non-empty signing secret (REMINDER_WEBHOOK_SECRET)")
        self.url = require_https_or_loopback(url)
        self._secret = _as_bytes(secret)
        super().__init__(timeout=timeout, max_connections=max_connections)

    async def send(self, notice: Notice) -> SendResult:
        body = webhook_body(notice)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body),
            "Idempotency-Key": notice.reference_id,
        }
        try:
            reply = await self._post(self.url, headers=headers, body=body)
        except TRANSPORT_ERRORS as exc:
            return transport_failure(exc)
        # A webhook's 403 says nothing about the user's Alexa permissions: it is rejected, not FORBIDDEN.
        return classify_http(
            reply.status,
            reply.text,
            reply.retry_after,
            delivered=200 <= reply.status <= 299,
            duplicate="receiver already has this reference_id",
        )
