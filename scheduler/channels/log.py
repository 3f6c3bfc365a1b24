"""A channel that only logs: the default when no credentials are configured, so development works offline."""

from __future__ import annotations

import logging
from datetime import UTC

from scheduler.channels.base import Notice, Outcome, SendResult

log = logging.getLogger(__name__)  # "scheduler.channels.log"


def _short_user(user_id: str) -> str:
    # Alexa user ids are long and identify a person; the tail is enough to tell users apart in a log.
    return user_id if len(user_id) <= 12 else "…" + user_id[-8:]


class LogChannel:
    name = "log"

    def send(self, notice: Notice) -> SendResult:
        log.info(
            "reminder %s (%s) for user %s at %s, ref %s, locale %s: logged, not sent",
            notice.reminder_id,
            notice.kind,
            _short_user(notice.alexa_user_id),
            notice.occurrence_at.astimezone(UTC).isoformat(),
            notice.reference_id,
            notice.locale,
        )
        return SendResult(Outcome.DELIVERED, None, "logged only (no delivery channel configured)")

    def close(self) -> None:
        pass
