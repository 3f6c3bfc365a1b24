"""The dispatch tick: claim due reminders, deliver each occurrence once, schedule the next.

One tick claims batches of due rows (one UPDATE ... RETURNING each, committed before any network
call), then sends the batch concurrently. Each occurrence goes through the delivery log first, so a
worker that dies mid-send leaves a 'sending' row; whoever claims the reminder after the lease
expires sends again with the same referenceId, and Alexa answers 409 rather than notifying twice.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from scheduler import queries as q
from scheduler.channels import Channel, Notice, Outcome, SendResult, reference_id_for
from scheduler.config import WorkerSettings
from scheduler.recurrence import next_occurrence
from scheduler.retry import send_with_retry

log = logging.getLogger(__name__)

# How long Alexa keeps a notice before dropping it unread. A bedtime stretch still helps for a
# few hours (people read notifications when they get into bed, which is rarely on the minute);
# a drink reminder is stale sooner, and the next one will come anyway. Alexa clamps expiry to
# 5 min .. 24 h after sending.
NOTICE_TTL = {"stretch": timedelta(hours=4), "water": timedelta(hours=2)}
DEFAULT_TTL = timedelta(hours=2)

# Stop starting new sends (and retry waits) this long before a lease ends, so a slow send cannot
# overlap with another worker that re-claims the row: a quarter of the lease, at most the 30 s
# that covers one request with the channel's timeouts.
MAX_LEASE_MARGIN = timedelta(seconds=30)

_STATUS = {
    Outcome.DELIVERED: "sent",
    Outcome.DUPLICATE: "duplicate",
    Outcome.REJECTED: "rejected",
    Outcome.FORBIDDEN: "forbidden",
    Outcome.RETRY: "failed",  # send_with_retry only returns RETRY once it has given up
}


@dataclass
class TickStats:
    """What one tick (or one batch) did. ``retried`` counts extra attempts, not notices.

    ``skipped``: claimed but not sent because it was paused, cancelled or already handled;
    ``released``: handed back unsent because its lease was nearly over; ``stale``: the lease was
    taken over by another worker (or the reminder was rescheduled) before we completed it;
    ``errors``: a database outage or an unexpected exception (the lease brings the row back).
    """

    claimed: int = 0
    sent: int = 0
    duplicate: int = 0
    missed: int = 0
    retried: int = 0
    rejected: int = 0
    forbidden: int = 0
    failed: int = 0
    stale: int = 0
    skipped: int = 0
    released: int = 0
    errors: int = 0

    def add(self, other: TickStats) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def summary(self) -> str:
        return ", ".join(
            f"{f.name} {getattr(self, f.name)}" for f in dataclasses.fields(self) if getattr(self, f.name)
        )


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _one_line(exc: BaseException) -> str:
    # Driver messages span lines (SQL, parameters, a link); the first line says what happened.
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _who(claim: q.Claimed, recipient: q.Recipient | None) -> str:
    # Internal id plus the start of the Alexa id: enough to find the user, not a whole identifier.
    if recipient is None:
        return f"user {claim.user_id}"
    return f"user {claim.user_id}/{recipient.alexa_user_id[:26]}…"


class Dispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        channel: Channel,
        settings: WorkerSettings,
        *,
        clock: Callable[[], datetime],
        worker_id: str,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._channel = channel
        self._settings = settings
        self._clock = clock
        self.worker_id = worker_id[:64]  # the width of reminders.lease_owner
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lease_margin = min(settings.lease * 0.25, MAX_LEASE_MARGIN)

    # -- the tick ------------------------------------------------------------------------------

    def tick(self, *, keep_going: Callable[[], bool] = lambda: True) -> TickStats:
        """Claim and deliver due reminders until none are left (at most max_batches_per_tick).

        ``keep_going`` is asked before each batch, so a shutdown lets the current batch finish and
        claims nothing more. Never raises for a database outage: it logs one line and returns.
        """
        stats = TickStats()
        started = time.monotonic()
        down: str | None = None
        try:
            for _ in range(self._settings.max_batches_per_tick):
                if not keep_going():
                    break
                batch = self.claim_batch()
                stats.claimed += len(batch)
                batch_stats, down = self._process(batch)
                stats.add(batch_stats)
                if down is not None or len(batch) < self._settings.batch_size:
                    break
        except DBAPIError as exc:
            stats.errors += 1
            if not _is_connection_error(exc):
                log.error("database error, will retry next tick: %s", _one_line(exc))
            else:
                down = _one_line(exc)
        if down is not None:
            log.error("database unreachable, will retry next tick: %s", down)
        if stats.claimed:
            log.info("tick (%s): %s in %.1fs", self.worker_id, stats.summary(), time.monotonic() - started)
        return stats

    def claim_batch(self) -> list[q.Claimed]:
        with self._sessions.begin() as session:
            return q.claim(
                session,
                now=self._clock(),
                lease=self._settings.lease,
                worker=self.worker_id,
                limit=self._settings.batch_size,
            )

    def process(self, batch: Sequence[q.Claimed]) -> TickStats:
        """Deliver (or log as missed, or skip) each claimed reminder, concurrently."""
        stats, down = self._process(batch)
        if down is not None:
            log.error("database unreachable, will retry next tick: %s", down)
        return stats

    def _process(self, batch: Sequence[q.Claimed]) -> tuple[TickStats, str | None]:
        """The batch's stats, and a one-line description of a database outage if one stopped it."""
        stats = TickStats()
        if not batch:
            return stats, None
        with self._sessions() as session:
            people = q.recipients(session, {c.user_id for c in batch})
        workers = min(self._settings.concurrency, len(batch))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dispatch") as pool:
            results = list(pool.map(lambda c: self._handle(c, people.get(c.user_id)), batch))
        down = [r for r in results if isinstance(r, BaseException)]
        for result in results:
            if isinstance(result, TickStats):
                stats.add(result)
        if not down:
            return stats, None
        # One line for the whole batch rather than one per reminder.
        stats.errors += 1
        return (
            stats,
            f"{_one_line(down[0])} ({len(down)} of {len(batch)} claimed reminders left to their leases)",
        )

    # -- one reminder --------------------------------------------------------------------------

    def _handle(self, claim: q.Claimed, recipient: q.Recipient | None) -> TickStats | BaseException:
        try:
            return self._deliver(claim, recipient)
        except Exception as exc:
            if isinstance(exc, DBAPIError) and _is_connection_error(exc):
                return exc  # reported once per batch by process()
            log.exception(
                "reminder %s (%s): unexpected error; it will be retried when its lease expires",
                claim.id,
                _who(claim, recipient),
            )
            return TickStats(errors=1)

    def _deliver(self, claim: q.Claimed, recipient: q.Recipient | None) -> TickStats:
        who = _who(claim, recipient)
        occurrence = claim.occurrence_at
        grace = self._settings.grace(claim.kind)

        with self._sessions() as session:
            state = q.reminder_state(session, claim.id)
        if state is None:
            log.info("reminder %s (%s): deleted after it was claimed; nothing to send", claim.id, who)
            return TickStats(skipped=1)
        if state.lease_token != claim.token:
            log.warning(
                "reminder %s (%s): no longer holds our lease (taken over or rescheduled); not sending",
                claim.id,
                who,
            )
            return TickStats(stale=1)
        if not state.enabled or state.paused or not state.can_deliver or recipient is None:
            log.info(
                "reminder %s (%s): paused or disabled after it was claimed; skipping %s",
                claim.id,
                who,
                occurrence.isoformat(),
            )
            return self._complete(claim, None, TickStats(skipped=1))

        now = self._clock()
        reference_id = reference_id_for(claim.id, occurrence)
        if now - occurrence > grace:
            return self._missed(claim, who, now, reference_id)
        if now >= claim.lease_until - self._lease_margin:
            # Sending now could overlap with the worker that re-claims it: hand it straight back.
            with self._sessions.begin() as session:
                q.release(session, reminder_id=claim.id, token=claim.token, visible_at=now)
            log.warning("reminder %s (%s): lease nearly over before sending; released", claim.id, who)
            return TickStats(released=1)

        with self._sessions.begin() as session:
            logged = q.open_delivery(
                session,
                reminder_id=claim.id,
                user_id=claim.user_id,
                occurrence_at=occurrence,
                status=q.SENDING,
                channel=self._channel.name,
                reference_id=reference_id,
            )
        if logged.status in q.FINAL_STATUSES:
            log.info(
                "reminder %s (%s): occurrence %s already %s; not sending again",
                claim.id,
                who,
                occurrence.isoformat(),
                logged.status,
            )
            return self._complete(claim, None, TickStats(skipped=1))
        if not logged.inserted:
            log.info(
                "reminder %s (%s): resending %s left mid-send by a stopped worker, same referenceId %s",
                claim.id,
                who,
                occurrence.isoformat(),
                reference_id,
            )

        notice = Notice(
            reminder_id=claim.id,
            alexa_user_id=recipient.alexa_user_id,
            kind=claim.kind,
            occurrence_at=occurrence,
            reference_id=reference_id,
            locale=recipient.locale,
            expires_at=occurrence + NOTICE_TTL.get(claim.kind, DEFAULT_TTL),
        )
        result, attempts = send_with_retry(
            self._channel,
            notice,
            # Retry within the grace window, but never past our lease.
            deadline=min(occurrence + grace, claim.lease_until - self._lease_margin),
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
        )
        return self._record(claim, recipient, who, result, attempts)

    def _missed(self, claim: q.Claimed, who: str, now: datetime, reference_id: str) -> TickStats:
        lateness = now - claim.occurrence_at
        detail = f"found {lateness} late (grace {self._settings.grace(claim.kind)}); not sent"
        with self._sessions.begin() as session:
            logged = q.open_delivery(
                session,
                reminder_id=claim.id,
                user_id=claim.user_id,
                occurrence_at=claim.occurrence_at,
                status="missed",
                channel=self._channel.name,
                reference_id=reference_id,
                detail=detail,
            )
            if logged.status == q.SENDING:
                # A worker stopped mid-send and nobody got back to it in time: too late to resend.
                q.finish_delivery(
                    session,
                    reminder_id=claim.id,
                    occurrence_at=claim.occurrence_at,
                    status="missed",
                    attempts=0,
                    detail=detail + " (an earlier attempt was interrupted; it may have arrived)",
                )
        log.info(
            "reminder %s (%s): missed the %s %s occurrence by %s; not sent",
            claim.id,
            who,
            claim.kind,
            claim.occurrence_at.isoformat(),
            lateness,
        )
        return self._complete(claim, None, TickStats(missed=1))

    def _record(
        self,
        claim: q.Claimed,
        recipient: q.Recipient,
        who: str,
        result: SendResult,
        attempts: int,
    ) -> TickStats:
        status = _STATUS[result.outcome]
        stats = TickStats(retried=max(0, attempts - 1))
        setattr(stats, status, 1)

        def effects(session: Session) -> None:
            q.finish_delivery(
                session,
                reminder_id=claim.id,
                occurrence_at=claim.occurrence_at,
                status=status,
                attempts=attempts,
                detail=f"HTTP {result.status}: {result.detail}" if result.status else result.detail,
            )
            if result.outcome in (Outcome.DELIVERED, Outcome.DUPLICATE):
                # The skill greets the user with this reminder's purpose next time they open it.
                q.set_pending_greeting(session, user_id=claim.user_id, kind=claim.kind)
            elif result.outcome is Outcome.FORBIDDEN:
                label = "Alexa" if self._channel.name == "alexa" else f"the {self._channel.name} channel"
                reason = f"{label} answered {result.status}: {result.detail}"
                paused = q.block_user(session, user_id=claim.user_id, reason=reason)
                log.warning(
                    "reminder %s (%s): %s; paused %d reminder(s) of this user until permission is granted",
                    claim.id,
                    who,
                    reason,
                    paused,
                )

        if result.outcome is Outcome.REJECTED:
            log.warning(
                "reminder %s (%s): rejected with HTTP %s (%s); not retried, ref %s",
                claim.id,
                who,
                result.status,
                result.detail,
                reference_id_for(claim.id, claim.occurrence_at),
            )
        elif result.outcome is Outcome.RETRY:
            log.error(
                "reminder %s (%s): delivery failed after %d attempt(s), last status %s (%s); "
                "occurrence %s given up",
                claim.id,
                who,
                attempts,
                result.status,
                result.detail,
                claim.occurrence_at.isoformat(),
            )
        return self._complete(claim, effects, stats)

    def _complete(
        self, claim: q.Claimed, effects: Callable[[Session], None] | None, stats: TickStats
    ) -> TickStats:
        """Record the outcome and move the reminder to its next occurrence, in one transaction."""
        next_fire_at = self._next_fire_at(claim)
        with self._sessions.begin() as session:
            if effects is not None:
                effects(session)
            done = q.complete(session, reminder_id=claim.id, token=claim.token, next_fire_at=next_fire_at)
        if not done:
            log.warning(
                "reminder %s (user %s): lease was taken over before completion; left to the new holder",
                claim.id,
                claim.user_id,
            )
            stats.stale += 1
        return stats

    def _next_fire_at(self, claim: q.Claimed) -> datetime:
        # From the occurrence itself, not from now: a late send keeps the schedule's wall time,
        # and a skipped or repeated DST hour is handled by next_occurrence.
        nxt = next_occurrence(claim.occurrence_at, claim.local_time, claim.time_zone, claim.days)
        grace = self._settings.grace(claim.kind)
        now = self._clock()
        if now - nxt > grace:
            # The worker was down for more than a day: never replay the backlog. Restarting from
            # `now - grace` rather than `now` keeps today's occurrence if it is still within grace.
            nxt = next_occurrence(now - grace, claim.local_time, claim.time_zone, claim.days)
        return nxt
