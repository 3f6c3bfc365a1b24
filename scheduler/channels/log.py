"""A channel that only logs: the default when no credentials are configured, so development works offline."""

from __future__ import annotations

import logging
from datetime import UTC

from scheduler.channels.base import Notice, Outcome, SendResult
from scheduler.logs import user_ref

log = logging.getLogger(__name__)  # "scheduler.channels.log"


class LogChannel:
    name = "log"

    async def send(self, notice: Notice) -> SendResult:
        log.info(
            "reminder %s (%s) for user %s at %s, ref %s, locale %s: logged, not sent",
            notice.reminder_id,
            notice.kind,
            user_ref(notice.alexa_user_id),
            notice.occurrence_at.astimezone(UTC).isoformat(),
            notice.reference_id,
            notice.locale,
        )
        return SendResult(Outcome.DELIVERED, None, "logged only (no delivery channel configured)")

    def close(self) -> None:
        pass
