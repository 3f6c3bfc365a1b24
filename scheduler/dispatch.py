"""The dispatch tick: claim due reminders, deliver each occurrence once, schedule the next.

Per batch, three steps, so that the sender threads only talk HTTP and the database sees a few
short transactions rather than several per notice:

1. claim: one UPDATE ... RETURNING, committed before any network call;
2. prepare (one transaction): re-read the claimed rows (paused or cancelled since?), log misses,
   and write a 'sending' row per occurrence about to go out;
3. send concurrently, recording outcomes and next occurrences in chunks as they complete.

A worker that dies between 2 and 3 leaves 'sending' rows; whoever claims those reminders once the
lease expires sends again with the same referenceId, and Alexa answers 409 instead of notifying
twice.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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

# Outcomes are written in chunks as sends complete: larger chunks mean fewer commits, smaller ones
# less to resend (as harmless 409s) if the process dies mid-batch.
RECORD_CHUNK = 100

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


@dataclass(frozen=True)
class _ToSend:
    claim: q.Claimed
    recipient: q.Recipient
    reference_id: str


@dataclass(frozen=True)
class _Sent:
    job: _ToSend
    result: SendResult | None  # None: not sent, the lease was nearly over
    attempts: int


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
        try:
            for _ in range(self._settings.max_batches_per_tick):
                if not keep_going():
                    break
                batch = self.claim_batch()
                stats.claimed += len(batch)
                self._process(batch, stats)
                if len(batch) < self._settings.batch_size:
                    break
        except DBAPIError as exc:
            self._database_error(exc, stats)
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
        """Deliver (or log as missed, or skip) reminders already claimed by this worker."""
        stats = TickStats()
        try:
            self._process(batch, stats)
        except DBAPIError as exc:
            self._database_error(exc, stats)
        return stats

    @staticmethod
    def _database_error(exc: DBAPIError, stats: TickStats) -> None:
        # One line per tick; whatever was claimed comes back when its lease expires.
        stats.errors += 1
        if _is_connection_error(exc):
            log.error("database unreachable, will retry next tick: %s", _one_line(exc))
        else:
            log.error("database error, will retry next tick: %s", _one_line(exc))

    def _process(self, batch: Sequence[q.Claimed], stats: TickStats) -> None:
        if not batch:
            return
        jobs = self._prepare(batch, stats)
        if not jobs:
            return
        workers = min(self._settings.concurrency, len(jobs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dispatch") as pool:
            futures: list[Future[_Sent | None]] = [pool.submit(self._send, job) for job in jobs]
            done: list[_Sent] = []
            try:
                for future in as_completed(futures):
                    sent = future.result()
                    if sent is None:
                        stats.errors += 1
                        continue
                    done.append(sent)
                    if len(done) >= RECORD_CHUNK:
                        self._record(done, stats)
                        done = []
                self._record(done, stats)
            except BaseException:
                # The database went away mid-batch: start no more sends we could not record.
                for future in futures:
                    future.cancel()
                raise

    # -- step 2: prepare -----------------------------------------------------------------------

    def _prepare(self, batch: Sequence[q.Claimed], stats: TickStats) -> list[_ToSend]:
        """Decide per claimed reminder, log misses and 'sending' rows; commits before any send."""
        now = self._clock()
        jobs: list[_ToSend] = []
        finished: list[q.Claimed] = []  # skipped or missed: straight to their next occurrence
        with self._sessions.begin() as session:
            people = q.recipients(session, {c.user_id for c in batch})
            states = q.reminder_states(session, [c.id for c in batch])
            logged = q.logged_deliveries(session, [(c.id, c.occurrence_at) for c in batch])
            new_rows = []
            for claim in batch:
                recipient = people.get(claim.user_id)
                who = _who(claim, recipient)
                state = states.get(claim.id)
                occurrence = claim.occurrence_at
                if state is None:
                    log.info("reminder %s (%s): deleted after it was claimed; nothing to send", claim.id, who)
                    stats.skipped += 1
                    continue
                if state.lease_token != claim.token:
                    log.warning(
                        "reminder %s (%s): lease taken over or reminder rescheduled; not sending",
                        claim.id,
                        who,
                    )
                    stats.stale += 1
                    continue
                if not state.enabled or state.paused or not state.can_deliver or recipient is None:
                    log.info(
                        "reminder %s (%s): paused or disabled after it was claimed; skipping %s",
                        claim.id,
                        who,
                        occurrence.isoformat(),
                    )
                    stats.skipped += 1
                    finished.append(claim)
                    continue
                reference_id = reference_id_for(claim.id, occurrence)
                existing = logged.get((claim.id, occurrence))
                if existing is not None and existing.status in q.FINAL_STATUSES:
                    log.info(
                        "reminder %s (%s): occurrence %s already %s; not sending again",
                        claim.id,
                        who,
                        occurrence.isoformat(),
                        existing.status,
                    )
                    stats.skipped += 1
                    finished.append(claim)
                    continue
                lateness = now - occurrence
                if lateness > self._settings.grace(claim.kind):
                    detail = f"found {lateness} late (grace {self._settings.grace(claim.kind)}); not sent"
                    if existing is None:
                        new_rows.append(self._row(claim, "missed", reference_id, detail))
                    else:
                        # A send was interrupted and nobody got back to it in time: too late now.
                        q.finish_delivery(
                            session,
                            reminder_id=claim.id,
                            occurrence_at=occurrence,
                            status="missed",
                            attempts=0,
                            detail=detail + " (an earlier attempt was interrupted; it may have arrived)",
                        )
                    log.info(
                        "reminder %s (%s): missed the %s %s occurrence by %s; not sent",
                        claim.id,
                        who,
                        claim.kind,
                        occurrence.isoformat(),
                        lateness,
                    )
                    stats.missed += 1
                    finished.append(claim)
                    continue
                if existing is None:
                    new_rows.append(self._row(claim, q.SENDING, reference_id, None))
                else:
                    log.info(
                        "reminder %s (%s): %s has no recorded outcome from an earlier claim; "
                        "sending again with the same referenceId %s",
                        claim.id,
                        who,
                        occurrence.isoformat(),
                        reference_id,
                    )
                jobs.append(_ToSend(claim, recipient, reference_id))
            q.insert_deliveries(session, new_rows)
            self._complete(session, finished, stats)
        return jobs

    def _row(self, claim: q.Claimed, status: str, reference_id: str, detail: str | None) -> dict[str, Any]:
        return q.delivery_row(
            reminder_id=claim.id,
            user_id=claim.user_id,
            occurrence_at=claim.occurrence_at,
            status=status,
            channel=self._channel.name,
            reference_id=reference_id,
            detail=detail,
        )

    # -- step 3: send (in the pool; no database here) -------------------------------------------

    def _send(self, job: _ToSend) -> _Sent | None:
        claim = job.claim
        try:
            if self._clock() >= claim.lease_until - self._lease_margin:
                # It waited in the queue too long: sending now could overlap with the worker that
                # re-claims it. Hand it back instead.
                return _Sent(job, None, 0)
            occurrence = claim.occurrence_at
            notice = Notice(
                reminder_id=claim.id,
                alexa_user_id=job.recipient.alexa_user_id,
                kind=claim.kind,
                occurrence_at=occurrence,
                reference_id=job.reference_id,
                locale=job.recipient.locale,
                expires_at=occurrence + NOTICE_TTL.get(claim.kind, DEFAULT_TTL),
            )
            result, attempts = send_with_retry(
                self._channel,
                notice,
                # Retry within the grace window, but never past our lease.
                deadline=min(
                    occurrence + self._settings.grace(claim.kind), claim.lease_until - self._lease_margin
                ),
                clock=self._clock,
                sleep=self._sleep,
                rng=self._rng,
            )
            return _Sent(job, result, attempts)
        except Exception:
            log.exception(
                "reminder %s (%s): unexpected error while sending; it comes back when its lease expires",
                claim.id,
                _who(claim, job.recipient),
            )
            return None

    # -- recording outcomes ----------------------------------------------------------------------

    def _record(self, done: Sequence[_Sent], stats: TickStats) -> None:
        """Write a chunk of outcomes, user effects and next occurrences in one transaction."""
        if not done:
            return
        finals: list[q.FinalStatus] = []
        greetings: dict[int, str] = {}
        completed: list[q.Claimed] = []
        with self._sessions.begin() as session:
            for sent in done:
                claim, result = sent.job.claim, sent.result
                if result is None:
                    q.release(session, reminder_id=claim.id, token=claim.token, visible_at=self._clock())
                    log.warning(
                        "reminder %s (%s): lease nearly over before sending; released",
                        claim.id,
                        _who(claim, sent.job.recipient),
                    )
                    stats.released += 1
                    continue
                status = _STATUS[result.outcome]
                setattr(stats, status, getattr(stats, status) + 1)
                stats.retried += max(0, sent.attempts - 1)
                detail = f"HTTP {result.status}: {result.detail}" if result.status else result.detail
                finals.append(q.FinalStatus(claim.id, claim.occurrence_at, status, sent.attempts, detail))
                if result.outcome in (Outcome.DELIVERED, Outcome.DUPLICATE):
                    # The skill greets the user with this reminder's purpose next time they open it.
                    greetings[claim.user_id] = claim.kind
                else:
                    self._report(session, sent, result)
                completed.append(claim)
            q.finish_deliveries(session, finals)
            q.set_pending_greetings(session, greetings)
            self._complete(session, completed, stats)

    def _report(self, session: Session, sent: _Sent, result: SendResult) -> None:
        """Log a failed delivery for the operator; on 403, also stop delivering to that user."""
        claim = sent.job.claim
        who = _who(claim, sent.job.recipient)
        if result.outcome is Outcome.FORBIDDEN:
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
        elif result.outcome is Outcome.REJECTED:
            log.warning(
                "reminder %s (%s): rejected with HTTP %s (%s); not retried, ref %s",
                claim.id,
                who,
                result.status,
                result.detail,
                sent.job.reference_id,
            )
        else:
            log.error(
                "reminder %s (%s): delivery failed after %d attempt(s), last status %s (%s); "
                "occurrence %s given up",
                claim.id,
                who,
                sent.attempts,
                result.status,
                result.detail,
                claim.occurrence_at.isoformat(),
            )

    def _complete(self, session: Session, claims: Sequence[q.Claimed], stats: TickStats) -> None:
        """Move reminders to their next occurrence and drop their leases, where still ours."""
        by_token: dict[str, dict[int, datetime]] = {}
        for claim in claims:
            by_token.setdefault(claim.token, {})[claim.id] = self._next_fire_at(claim)
        for token, next_fire_at in by_token.items():
            done = q.complete_many(session, token=token, next_fire_at=next_fire_at)
            for reminder_id in sorted(next_fire_at.keys() - done):
                log.warning(
                    "reminder %s: lease taken over (or reminder changed) before completion; "
                    "left to the new holder",
                    reminder_id,
                )
                stats.stale += 1

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
