"""Delivery channels for reminder notices and placement messages, chosen from the environment."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from scheduler.channels.alexa import AlexaChannel, SkillMessagingChannel
from scheduler.channels.base import (
    Channel,
    Messenger,
    Notice,
    Outcome,
    PlacementRequest,
    SendResult,
    reference_id_for,
)
from scheduler.channels.log import LogChannel
from scheduler.channels.webhook import WebhookChannel, verify_signature

__all__ = [
    "AlexaChannel",
    "Channel",
    "LogChannel",
    "Messenger",
    "Notice",
    "Outcome",
    "PlacementRequest",
    "SendResult",
    "SkillMessagingChannel",
    "WebhookChannel",
    "channel_from_env",
    "messenger_from_env",
    "reference_id_for",
    "verify_signature",
]

log = logging.getLogger(__name__)


def _credentials(env: Mapping[str, str]) -> tuple[str, str]:
    return (env.get("ALEXA_CLIENT_ID") or "").strip(), (env.get("ALEXA_CLIENT_SECRET") or "").strip()


def messenger_from_env(env: Mapping[str, str]) -> Messenger | None:
    """Skill Messaging when the Alexa client credentials are set (the same ones Proactive Events use).

    Without it, device reminders cannot be placed out of session, so everyone gets notifications.
    Half a configuration is refused by channel_from_env, which the worker builds first.
    """
    client_id, client_secret = _credentials(env)
    if not (client_id and client_secret):
        return None
    return SkillMessagingChannel.from_env(
        {**env, "ALEXA_CLIENT_ID": client_id, "ALEXA_CLIENT_SECRET": client_secret}
    )


def channel_from_env(env: Mapping[str, str]) -> Channel:
    """Alexa if its client credentials are set, else the webhook if its URL is set, else logging only.

    Empty values count as unset (``FOO=`` in an env file). Half a configuration is an error rather
    than a silent fall-back, because falling back would quietly stop delivering reminders.
    """

    def get(name: str) -> str:
        return (env.get(name) or "").strip()

    client_id, client_secret = _credentials(env)
    if client_id and client_secret:
        return AlexaChannel.from_env(
            {**env, "ALEXA_CLIENT_ID": client_id, "ALEXA_CLIENT_SECRET": client_secret}
        )
    if client_id or client_secret:
        missing = "ALEXA_CLIENT_SECRET" if client_id else "ALEXA_CLIENT_ID"
        raise ValueError(
            f"{missing} is not set: Alexa delivery needs both ALEXA_CLIENT_ID and ALEXA_CLIENT_SECRET"
        )

    url = get("REMINDER_WEBHOOK_URL")
    if url:
        # Used verbatim (not stripped): the receiver computes the HMAC with the exact same bytes.
        secret = env.get("REMINDER_WEBHOOK_SECRET") or ""
        if not secret.strip():
            raise ValueError(
                "REMINDER_WEBHOOK_URL is set but REMINDER_WEBHOOK_SECRET is not: "
                "webhook requests must be signed, so set a secret shared with the receiver"
            )
        return WebhookChannel(url, secret)

    log.warning(
        "no ALEXA_CLIENT_ID/ALEXA_CLIENT_SECRET or REMINDER_WEBHOOK_URL set: reminders will only be logged"
    )
    return LogChannel()
