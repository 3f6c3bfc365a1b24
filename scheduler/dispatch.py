"""The dispatch tick: claim due reminders, deliver each occurrence once, schedule the next.

One pipeline per tick, on the process's send loop (``scheduler.aio``), hundreds of sends in flight.
Database work never runs on the loop: it goes, one call at a time, to a thread (SQLite has one
writer anyway), in batches, while the sends already started carry on:

1. claim: one UPDATE ... RETURNING per batch, committed before any network call;
2. prepare, one *wave* at a time, just before the wave goes out (one transaction): lock and
   re-read the claimed rows (paused, cancelled or forgotten since?), log misses, and write a
   'sending' row per occurrence about to go out; then every send of the wave starts at once;
3. record outcomes, next occurrences and retries in chunks as sends complete.

A transient failure (429, 5xx, network) does not wait in the pool: its send slot is free at once.
The retry keeps the occurrence and its referenceId, until the grace window ends. One due within
``retry_hold_seconds`` (a 429's Retry-After, the first backoffs) is held by this worker, still
under its lease, and goes out ahead of new claims when its wait is over, through step 2 like any
claim (so a pause, a cancel or SkillDisabled in between still stops it). A later one goes back to
the queue, due again at its attempt time (``scheduler.retry``). Handed back, a retry due soon
would sort behind every reminder already due: at a spike of 100,000, last of all.

A user who granted the reminders permission hears each occurrence from the device itself: the
reminder comes due ``placement_lead`` early, the send is a Skill Message asking the skill to place
it (scheduler/placements.py), and the reminder is handed back, due again at its fire time; then
an occurrence that was placed is done, and one that was not goes out as a notification instead.

A worker that dies between 2 and 3 leaves 'sending' rows; whoever claims those reminders once the
lease expires sends again with the same referenceId, and Alexa answers 409 instead of notifying
twice (a second placement message is as harmless: the skill places an occurrence once).
Preparing per wave, right before the send, is also the fence for SkillDisabled:
``ReminderService.forget_user`` disables the user's reminders in a transaction ordered with the
prepare (row locks on PostgreSQL, the single writer on SQLite), then waits for the 'sending' rows
that were already written; no send for that user can start after it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import heapq
import itertools
import logging
import random
import time as clock
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from scheduler import aio
from scheduler import queries as q
from scheduler.channels import (
    Channel,
    Messenger,
    Notice,
    Outcome,
    PlacementRequest,
    SendResult,
    reference_id_for,
)
from scheduler.config import WorkerSettings
from scheduler.logs import NO_VALUE, bind, safe, user_ref
from scheduler.placements import DEVICE, PLACE_MARGIN, visible_from
from scheduler.recurrence import next_occurrence
from scheduler.retry import plan_retry

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long Alexa keeps a notice before dropping it unread. A bedtime stretch still helps for a
# few hours (people read notifications when they get into bed, which is rarely on the minute);
# a drink reminder is stale sooner, and the next one will come anyway. Alexa clamps expiry to
# 5 min .. 24 h after sending.
NOTICE_TTL = {"stretch": timedelta(hours=4), "water": timedelta(hours=2)}
DEFAULT_TTL = timedelta(hours=2)

# Stop starting new sends this long before a lease ends, so a slow send cannot overlap with
# another worker that re-claims the row: a quarter of the lease, at most the 30 s that covers one
# request with the channel's timeouts.
MAX_LEASE_MARGIN = timedelta(seconds=30)

# Sends prepared (and then started) together. Small enough that a wave goes out within
# milliseconds of its 'sending' rows being committed (what forget_user waits for), large enough
# that preparing costs a transaction per hundred-odd notices.
MAX_WAVE = 128

# Outcomes are written in chunks as sends complete, at least every FLUSH_SECONDS: larger chunks
# mean fewer commits, smaller ones less to resend (as harmless 409s) if the process dies.
RECORD_CHUNK = 250
FLUSH_SECONDS = 0.1

# With only held retries left, how often the pipeline wakes to ask whether it should stop.
HELD_POLL_SECONDS = 0.25

_STATUS = {
    Outcome.DELIVERED: "sent",
    Outcome.DUPLICATE: "duplicate",
    Outcome.REJECTED: "rejected",
    Outcome.FORBIDDEN: "forbidden",
    Outcome.RETRY: "failed",  # only once no retry fits in the grace window
}


@dataclass
class TickStats:
    """What one tick (or one batch) did.

    ``retried``: transient failures handed back to the queue for another attempt; ``skipped``:
    claimed but not sent because it was paused, cancelled or already handled; ``released``: handed
    back unsent (its lease was nearly over, or the worker is stopping); ``stale``: the lease was
    taken over by another worker (or the reminder was rescheduled) before we completed it;
    ``errors``: a database outage or an unexpected exception (the lease brings the row back).
    Device reminders: ``messaged``: placement messages Alexa accepted; ``placed``: occurrences the
    device said (placed by their fire time); ``unplaced``: placement messages that failed for good
    (the occurrence is notified at its time instead); ``waiting``: claimed early and handed back to
    their fire time.
    """

    claimed: int = 0
    sent: int = 0
    messaged: int = 0
    placed: int = 0
    unplaced: int = 0
    waiting: int = 0
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

    def count(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)

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
    return safe(text.splitlines()[0] if text else type(exc).__name__, 300)


def _who(claim: q.Claimed, alexa_user_id: str | None) -> str:
    # Internal id plus a short hash of the Alexa id: enough to follow one user, never the id itself.
    if alexa_user_id is None:
        return f"user {claim.user_id}"
    return f"user {claim.user_id}/{user_ref(alexa_user_id)}"


@dataclass(frozen=True)
class _ToSend:
    claim: q.Claimed
    alexa_user_id: str
    locale: str
    reference_id: str
    attempts: int  # made for this occurrence before this one (earlier claims)
    place: bool = False  # a placement message, not a notification
    device: bool = False  # the user hears reminders from the device (their next one is placed early)
    user: str = NO_VALUE  # user_ref(alexa_user_id), hashed once in prepare for every line about it


@dataclass(frozen=True)
class _Sent:
    job: _ToSend
    result: SendResult | None  # None: an unexpected exception; the lease brings the row back


class Dispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        channel: Channel,
        settings: WorkerSettings,
        *,
        clock: Callable[[], datetime],
        worker_id: str,
        rng: random.Random | None = None,
        on_sent: Callable[[float], None] | None = None,
        messenger: Messenger | None = None,
    ) -> None:
        self._sessions = sessions
        self._channel = channel
        # Without one, nobody's reminders go to a device: everyone is notified.
        self._messenger = messenger
        self._settings = settings
        self._clock = clock
        self.worker_id = worker_id[:64]  # the width of reminders.lease_owner
        self._rng = rng or random.Random()
        # Told each delivered notice's lateness in seconds (the worker's metrics).
        self._on_sent = on_sent
        self._lease_margin = min(settings.lease * 0.25, MAX_LEASE_MARGIN)
        self._wave = max(1, min(MAX_WAVE, settings.concurrency // 2))

    # -- the tick (a plain call, for APScheduler's thread and the CLI) ---------------------------

    def tick(self, *, keep_going: Callable[[], bool] = lambda: True) -> TickStats:
        """Claim and deliver due reminders until none are left (at most max_batches_per_tick).

        ``keep_going`` is asked before each claim and each wave: once it says no, nothing more is
        claimed or started, sends in flight finish and are recorded, and claimed reminders not yet
        started are handed back. Never raises for a database outage: it logs one line and returns.
        """
        stats = TickStats()
        started = clock.monotonic()
        self._run_sync(deque(), claim_more=True, keep_going=keep_going, stats=stats)
        if stats.claimed:
            log.info("tick (%s): %s in %.1fs", self.worker_id, stats.summary(), clock.monotonic() - started)
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
        self._run_sync(deque(batch), claim_more=False, keep_going=lambda: True, stats=stats)
        return stats

    def _run_sync(
        self, pending: deque[q.Claimed], *, claim_more: bool, keep_going: Callable[[], bool], stats: TickStats
    ) -> None:
        try:
            aio.run(self._pipeline(pending, claim_more=claim_more, keep_going=keep_going, stats=stats))
        except DBAPIError as exc:
            # One line per tick; whatever was claimed comes back when its lease expires.
            stats.errors += 1
            kind = "unreachable" if _is_connection_error(exc) else "error"
            log.error("database %s, will retry next tick: %s", kind, _one_line(exc))

    # -- the pipeline (on the send loop) ---------------------------------------------------------

    async def _pipeline(
        self, pending: deque[q.Claimed], *, claim_more: bool, keep_going: Callable[[], bool], stats: TickStats
    ) -> None:
        loop = asyncio.get_running_loop()

        async def db(fn: Callable[..., T], *args: Any) -> T:
            # In a copy of this context, so the database thread's lines carry the tick's id, and a
            # user named in one call is gone after it.
            return await loop.run_in_executor(None, contextvars.copy_context().run, fn, *args)

        concurrency = self._settings.concurrency
        tasks: set[asyncio.Task[_Sent]] = set()
        # Sends report here as they finish. asyncio.wait over hundreds of tasks would add and remove
        # a callback on every one of them at each wake-up; one callback per task, once, is enough.
        finished: list[asyncio.Task[_Sent]] = []
        wake = asyncio.Event()

        def collect(task: asyncio.Task[_Sent]) -> None:
            finished.append(task)
            wake.set()

        done: list[_Sent] = []
        oldest_done = 0.0
        batches = 0
        # Retries waiting out a short delay under our lease: (monotonic due time, tie-break, the
        # attempt time, the claim), earliest first.
        held: list[tuple[float, int, datetime, q.Claimed]] = []
        order = itertools.count()

        async def record() -> None:
            nonlocal done
            chunk, done = done, []
            for wait, at, claim in await db(self._record, chunk, stats):
                heapq.heappush(held, (clock.monotonic() + wait, next(order), at, claim))

        try:
            while True:
                going = keep_going()
                if not going and (pending or held):
                    # Stopping: hand back what has not started, so nobody waits for our lease; a
                    # held retry is due again at its own attempt time.
                    later = [(at, claim) for _, _, at, claim in held]
                    await db(self._hand_back, list(pending), stats, later)
                    pending.clear()
                    held.clear()
                if held and held[0][0] <= clock.monotonic():
                    # Retries whose wait is over go before new claims: they are the longest overdue.
                    ready: list[q.Claimed] = []
                    while held and held[0][0] <= clock.monotonic():
                        ready.append(heapq.heappop(held)[3])
                    pending.extendleft(reversed(ready))
                claim_more = claim_more and going and batches < self._settings.max_batches_per_tick
                if claim_more and len(pending) < self._wave:
                    batch = await db(self.claim_batch)
                    batches += 1
                    stats.claimed += len(batch)
                    pending.extend(batch)
                    claim_more = len(batch) == self._settings.batch_size
                free = concurrency - len(tasks)
                if pending and going and free >= min(self._wave, len(pending)):
                    wave = [pending.popleft() for _ in range(min(free, self._wave, len(pending)))]
                    for job in await db(self._prepare, wave, stats):
                        task = asyncio.create_task(self._send(job))
                        task.add_done_callback(collect)
                        tasks.add(task)
                    continue
                if not tasks:
                    if done:
                        await record()
                    if not pending and not claim_more:
                        if not held:
                            return
                        # Only held retries are left: sleep until the first is due, or a stop.
                        await asyncio.sleep(min(max(held[0][0] - clock.monotonic(), 0.0), HELD_POLL_SECONDS))
                    continue
                if not finished:
                    wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(FLUSH_SECONDS):
                            await wake.wait()
                if finished and not done:
                    oldest_done = clock.monotonic()
                for task in finished:
                    tasks.discard(task)
                    done.append(task.result())
                finished.clear()
                if done and (
                    len(done) >= RECORD_CHUNK
                    or clock.monotonic() - oldest_done >= FLUSH_SECONDS
                    or (not tasks and not pending)
                ):
                    await record()
        except BaseException:
            # The database went away mid-batch: start nothing more we could not record. Sends cut
            # off here left 'sending' rows: they go again, same referenceId, after the lease; so do
            # held retries (their rows say 'retrying').
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _send(self, job: _ToSend) -> _Sent:
        claim = job.claim
        # Each send is its own task, with its own copy of the context: the channel's lines name the user.
        bind(user=job.user)
        try:
            if job.place:
                assert self._messenger is not None  # place jobs are only made with one
                request = PlacementRequest(
                    reminder_id=claim.id,
                    alexa_user_id=job.alexa_user_id,
                    occurrence_at=claim.occurrence_at,
                    reference_id=job.reference_id,
                    expires_at=claim.occurrence_at - PLACE_MARGIN,
                )
                return _Sent(job, await self._messenger.request_placement(request))
            notice = Notice(
                reminder_id=claim.id,
                alexa_user_id=job.alexa_user_id,
                kind=claim.kind,
                occurrence_at=claim.occurrence_at,
                reference_id=job.reference_id,
                locale=job.locale,
                expires_at=claim.occurrence_at + NOTICE_TTL.get(claim.kind, DEFAULT_TTL),
            )
            return _Sent(job, await self._channel.send(notice))
        except Exception:
            log.exception(
                "reminder %s (%s): unexpected error while sending; it comes back when its lease expires",
                claim.id,
                _who(claim, job.alexa_user_id),
            )
            return _Sent(job, None)

    # -- step 2: prepare one wave (in the database thread) ---------------------------------------

    def _prepare(self, wave: Sequence[q.Claimed], stats: TickStats) -> list[_ToSend]:
        """Decide per claimed reminder, log misses and 'sending' rows; commits before any send."""
        now = self._clock()
        jobs: list[_ToSend] = []
        finished: list[tuple[q.Claimed, bool]] = []  # skipped or missed: straight to the next occurrence
        released: list[q.Retry] = []
        greetings: dict[int, str] = {}
        with self._sessions.begin() as session:
            by_token: dict[str, list[int]] = {}
            for claim in wave:
                by_token.setdefault(claim.token, []).append(claim.id)
            for token, ids in by_token.items():
                q.lock_claims(session, ids, token)
            states = q.claimed_states(session, [c.id for c in wave])
            logged = q.logged_deliveries(session, [(c.id, c.occurrence_at) for c in wave])
            new_rows: list[dict[str, Any]] = []
            reopened: list[tuple[int, datetime]] = []
            fallen_back: list[tuple[int, datetime]] = []
            for claim in wave:
                state = states.get(claim.id)
                # The lines about this claim name its user (the context is this call's own copy).
                ref = user_ref(state.alexa_user_id) if state else NO_VALUE
                bind(user=ref)
                who = _who(claim, state.alexa_user_id if state else None)
                occurrence = claim.occurrence_at
                if state is None:
                    log.info("reminder %s (%s): deleted after it was claimed; nothing to send", claim.id, who)
                    stats.skipped += 1
                    continue
                device = state.places and self._messenger is not None
                if state.lease_token != claim.token:
                    log.warning(
                        "reminder %s (%s): lease taken over or reminder rescheduled; not sending",
                        claim.id,
                        who,
                    )
                    stats.stale += 1
                    continue
                if not state.enabled or state.paused or not state.can_deliver:
                    log.info(
                        "reminder %s (%s): paused, disabled or forgotten after it was claimed; skipping %s",
                        claim.id,
                        who,
                        occurrence.isoformat(),
                    )
                    stats.skipped += 1
                    finished.append((claim, device))
                    continue
                if now >= claim.lease_until - self._lease_margin:
                    # It waited in the queue too long: sending now could overlap with the worker
                    # that re-claims it. Hand it back instead, due at once.
                    log.warning("reminder %s (%s): lease nearly over before sending; released", claim.id, who)
                    released.append(q.Retry(claim.id, claim.token, now))
                    stats.released += 1
                    continue
                reference_id = reference_id_for(claim.id, occurrence)
                key = (claim.id, occurrence)
                existing = logged.get(key)
                if existing is not None and existing.status in q.FINAL_STATUSES:
                    log.info(
                        "reminder %s (%s): occurrence %s already %s; not sending again",
                        claim.id,
                        who,
                        occurrence.isoformat(),
                        existing.status,
                    )
                    stats.skipped += 1
                    finished.append((claim, device))
                    continue
                # A device reminder's row: on its way to the device, or there already.
                on_device = existing is not None and (
                    existing.status in (q.PLACED, *q.AWAITING_STATUSES) or existing.channel == DEVICE
                )
                if existing is not None and existing.status == q.PLACED and now >= occurrence:
                    # The device has said it (or is saying it): this occurrence is done.
                    stats.placed += 1
                    greetings[claim.user_id] = claim.kind
                    finished.append((claim, device))
                    continue
                attempts = existing.attempts if existing is not None else 0
                if now < occurrence:
                    may_place = existing is None or (on_device and existing.status in q.OPEN_STATUSES)
                    if device and may_place and occurrence - now > PLACE_MARGIN:
                        if existing is None:
                            new_rows.append(self._row(claim, q.SENDING, reference_id, None, DEVICE))
                        elif existing.status == q.RETRYING:
                            reopened.append(key)
                        jobs.append(
                            _ToSend(
                                claim,
                                state.alexa_user_id,
                                state.locale,
                                reference_id,
                                attempts,
                                place=True,
                                device=True,
                                user=ref,
                            )
                        )
                    else:
                        # Placed, on its way, or notified at its time: look again at the fire time.
                        released.append(q.Retry(claim.id, claim.token, occurrence))
                        stats.waiting += 1
                    continue
                grace = self._settings.grace(claim.kind)
                lateness = now - occurrence
                if lateness > grace:
                    self._too_late(
                        session, claim, existing, reference_id, lateness, grace, new_rows, stats, who
                    )
                    finished.append((claim, device))
                    continue
                if not state.can_notify:
                    # Only the device could have said it, and it was not placed in time.
                    detail = "not placed on the device by its time, and notifications are not allowed"
                    if existing is None:
                        new_rows.append(self._row(claim, "missed", reference_id, detail, DEVICE))
                    else:
                        q.finish_delivery(
                            session,
                            reminder_id=claim.id,
                            occurrence_at=occurrence,
                            status="missed",
                            attempts=0,
                            detail=detail,
                        )
                    log.warning("reminder %s (%s): %s %s %s", claim.id, who, claim.kind, occurrence, detail)
                    stats.missed += 1
                    finished.append((claim, device))
                    continue
                if existing is None:
                    new_rows.append(self._row(claim, q.SENDING, reference_id, None))
                elif on_device:
                    log.warning(
                        "reminder %s (%s): %s occurrence %s was not placed on the device (%s); "
                        "sending it as a notification",
                        claim.id,
                        who,
                        claim.kind,
                        occurrence.isoformat(),
                        existing.status,
                    )
                    fallen_back.append(key)
                elif existing.status == q.RETRYING:
                    reopened.append(key)
                else:
                    log.info(
                        "reminder %s (%s): %s has no recorded outcome from an earlier claim; "
                        "sending again with the same referenceId %s",
                        claim.id,
                        who,
                        occurrence.isoformat(),
                        reference_id,
                    )
                jobs.append(
                    _ToSend(
                        claim,
                        state.alexa_user_id,
                        state.locale,
                        reference_id,
                        attempts,
                        device=device,
                        user=ref,
                    )
                )
            bind(user=NO_VALUE)
            q.insert_deliveries(session, new_rows)
            q.reopen_deliveries(session, reopened)
            q.fall_back(session, fallen_back, self._channel.name)
            q.release_many(session, released)
            self._complete(session, finished, stats)
            q.set_pending_greetings(session, greetings)
        return jobs

    def _too_late(
        self,
        session: Session,
        claim: q.Claimed,
        existing: q.DeliveryState | None,
        reference_id: str,
        lateness: timedelta,
        grace: timedelta,
        new_rows: list[dict[str, Any]],
        stats: TickStats,
        who: str,
    ) -> None:
        """Past the grace window: 'missed' (never tried, or interrupted) or 'failed' (retries ran out)."""
        occurrence = claim.occurrence_at
        detail = f"found {lateness} late (grace {grace}); not sent"
        if existing is None:
            new_rows.append(self._row(claim, "missed", reference_id, detail))
        else:
            retrying = existing.status == q.RETRYING
            q.finish_delivery(
                session,
                reminder_id=claim.id,
                occurrence_at=occurrence,
                status="failed" if retrying else "missed",
                attempts=0,
                detail=(
                    f"retried {existing.attempts} time(s) until the grace window ended ({grace})"
                    if retrying
                    else detail + " (an earlier attempt was interrupted; it may have arrived)"
                ),
            )
            if retrying:
                log.error(
                    "reminder %s (%s): %s occurrence %s failed after %d attempt(s); grace window ended",
                    claim.id,
                    who,
                    claim.kind,
                    occurrence.isoformat(),
                    existing.attempts,
                )
                stats.failed += 1
                return
        log.info(
            "reminder %s (%s): missed the %s %s occurrence by %s; not sent",
            claim.id,
            who,
            claim.kind,
            occurrence.isoformat(),
            lateness,
        )
        stats.missed += 1

    def _row(
        self,
        claim: q.Claimed,
        status: str,
        reference_id: str,
        detail: str | None,
        channel: str | None = None,
    ) -> dict[str, Any]:
        return q.delivery_row(
            reminder_id=claim.id,
            user_id=claim.user_id,
            occurrence_at=claim.occurrence_at,
            status=status,
            channel=channel or self._channel.name,
            reference_id=reference_id,
            detail=detail,
        )

    def _placement_outcome(
        self, sent: _Sent, result: SendResult, attempts: int, now: datetime, stats: TickStats
    ) -> tuple[q.FinalStatus, q.Retry]:
        """A placement message's outcome: the row's next status, and when to claim the reminder again.

        Accepted: the skill places it; look again at the fire time. Transient: retried like a
        notification, but only while a placement could still arrive in time. Otherwise the
        occurrence is notified at its time instead.
        """
        claim = sent.job.claim
        who = _who(claim, sent.job.alexa_user_id)
        detail = f"HTTP {result.status}: {result.detail}" if result.status else result.detail
        at_fire_time = q.Retry(claim.id, claim.token, claim.occurrence_at)
        if result.outcome is Outcome.DELIVERED:
            stats.messaged += 1
            return q.FinalStatus(claim.id, claim.occurrence_at, q.MESSAGED, 1, detail), at_fire_time
        if result.outcome is Outcome.RETRY:
            plan = plan_retry(
                attempts,
                now=now,
                deadline=claim.occurrence_at - PLACE_MARGIN,
                retry_after=result.retry_after,
                rng=self._rng,
            )
            if plan.at is not None:
                stats.retried += 1
                log.info(
                    "reminder %s (%s): placement message attempt %d got %s; %s",
                    claim.id,
                    who,
                    attempts,
                    safe(detail, 200),
                    plan.reason,
                )
                return (
                    q.FinalStatus(claim.id, claim.occurrence_at, q.RETRYING, 1, detail),
                    q.Retry(claim.id, claim.token, plan.at),
                )
            detail = f"{detail}; {plan.reason}"
        stats.unplaced += 1
        log.warning(
            "reminder %s (%s): could not ask the skill to place %s (%s); it will be a notification",
            claim.id,
            who,
            claim.occurrence_at.isoformat(),
            safe(detail, 200),
        )
        return q.FinalStatus(claim.id, claim.occurrence_at, q.UNPLACED, 1, detail), at_fire_time

    def _hand_back(
        self,
        claims: Sequence[q.Claimed],
        stats: TickStats,
        later: Sequence[tuple[datetime, q.Claimed]] = (),
    ) -> None:
        """Release claims unsent: ``claims`` due at once, ``later`` (held retries) at their own time."""
        now = self._clock()
        retries = [q.Retry(c.id, c.token, now) for c in claims]
        retries += [q.Retry(c.id, c.token, at) for at, c in later]
        with self._sessions.begin() as session:
            q.release_many(session, retries)
        stats.released += len(claims) + len(later)

    def _retry_at(
        self,
        claim: q.Claimed,
        at: datetime,
        now: datetime,
        retries: list[q.Retry],
        held: list[tuple[float, datetime, q.Claimed]],
    ) -> None:
        """Hold a retry due soon (and well inside our lease) in this worker; queue any other."""
        wait = (at - now).total_seconds()
        if wait <= self._settings.retry_hold_seconds and at < claim.lease_until - self._lease_margin:
            held.append((max(wait, 0.0), at, claim))
        else:
            retries.append(q.Retry(claim.id, claim.token, at))

    # -- step 3: record outcomes (in the database thread) ----------------------------------------

    def _record(self, done: Sequence[_Sent], stats: TickStats) -> list[tuple[float, datetime, q.Claimed]]:
        """Write a chunk of outcomes, retries, next occurrences and user effects in one transaction.

        Returns the retries this worker holds: (seconds to wait, attempt time, claim).
        """
        now = self._clock()
        finals: list[q.FinalStatus] = []
        retries: list[q.Retry] = []
        held: list[tuple[float, datetime, q.Claimed]] = []
        greetings: dict[int, str] = {}
        completed: list[tuple[q.Claimed, bool]] = []
        problems: list[tuple[_Sent, SendResult, int]] = []
        for sent in done:
            claim, result = sent.job.claim, sent.result
            bind(user=sent.job.user)
            if result is None:
                stats.errors += 1
                continue
            attempts = sent.job.attempts + 1
            if sent.job.place:
                final, again = self._placement_outcome(sent, result, attempts, now, stats)
                finals.append(final)
                self._retry_at(claim, again.at, now, retries, held)
                continue
            detail = f"HTTP {result.status}: {result.detail}" if result.status else result.detail
            if result.outcome is Outcome.RETRY:
                plan = plan_retry(
                    attempts,
                    now=now,
                    deadline=claim.occurrence_at + self._settings.grace(claim.kind),
                    retry_after=result.retry_after,
                    rng=self._rng,
                )
                if plan.at is not None:
                    self._retry_at(claim, plan.at, now, retries, held)
                    finals.append(q.FinalStatus(claim.id, claim.occurrence_at, q.RETRYING, 1, detail))
                    stats.retried += 1
                    log.info(
                        "reminder %s (%s): attempt %d got %s; %s",
                        claim.id,
                        _who(claim, sent.job.alexa_user_id),
                        attempts,
                        safe(detail, 200),
                        plan.reason,
                    )
                    continue
                detail = f"{detail}; {plan.reason}"
            status = _STATUS[result.outcome]
            stats.count(status)
            finals.append(q.FinalStatus(claim.id, claim.occurrence_at, status, 1, detail))
            if result.outcome in (Outcome.DELIVERED, Outcome.DUPLICATE):
                # The skill greets the user with this reminder's purpose next time they open it.
                greetings[claim.user_id] = claim.kind
                if self._on_sent is not None and result.outcome is Outcome.DELIVERED:
                    self._on_sent((now - claim.occurrence_at).total_seconds())
            else:
                problems.append((sent, result, attempts))
            completed.append((claim, sent.job.device))
        bind(user=NO_VALUE)
        with self._sessions.begin() as session:
            # Deliveries, then reminders, then users: the order forget_user deletes in, so the two
            # never wait for each other in a circle on PostgreSQL.
            q.finish_deliveries(session, finals)
            q.release_many(session, retries)
            self._complete(session, completed, stats)
            q.set_pending_greetings(session, greetings)
            for sent, result, attempts in problems:
                bind(user=sent.job.user)
                self._report(session, sent, result, attempts)
            bind(user=NO_VALUE)
        return held

    def _report(self, session: Session, sent: _Sent, result: SendResult, attempts: int) -> None:
        """Log a failed delivery for the operator; on 403, also stop delivering to that user."""
        claim = sent.job.claim
        who = _who(claim, sent.job.alexa_user_id)
        if result.outcome is Outcome.FORBIDDEN:
            label = "Alexa" if self._channel.name == "alexa" else f"the {self._channel.name} channel"
            reason = f"{label} answered {result.status}: {result.detail}"
            paused = q.block_user(session, user_id=claim.user_id, reason=reason)
            log.warning(
                "reminder %s (%s): %s; paused %d reminder(s) of this user until permission is granted",
                claim.id,
                who,
                safe(reason, 300),
                paused,
            )
        elif result.outcome is Outcome.REJECTED:
            log.warning(
                "reminder %s (%s): rejected with HTTP %s (%s); not retried, ref %s",
                claim.id,
                who,
                result.status,
                safe(result.detail, 200),
                sent.job.reference_id,
            )
        else:
            log.error(
                "reminder %s (%s): delivery failed after %d attempt(s), last status %s (%s); "
                "occurrence %s given up",
                claim.id,
                who,
                attempts,
                result.status,
                safe(result.detail, 200),
                claim.occurrence_at.isoformat(),
            )

    def _complete(self, session: Session, claims: Sequence[tuple[q.Claimed, bool]], stats: TickStats) -> None:
        """Move reminders to their next occurrence and drop their leases, where still ours.

        A reminder whose user hears it from the device comes due ``placement_lead`` before its next
        occurrence, to be placed; any other at the occurrence itself.
        """
        by_token: dict[str, dict[int, datetime]] = {}
        visible: dict[int, datetime] = {}
        # Reminders due together mostly share a schedule: work out each distinct one once (the
        # zone arithmetic was an eighth of the worker's time at 100,000 due at once).
        schedules: dict[tuple[datetime, time, str, int, str], datetime] = {}
        for claim, device in claims:
            key = (claim.occurrence_at, claim.local_time, claim.time_zone, claim.days, claim.kind)
            if key not in schedules:
                schedules[key] = self._next_fire_at(claim)
            by_token.setdefault(claim.token, {})[claim.id] = schedules[key]
            if device:
                visible[claim.id] = visible_from(schedules[key], self._settings.placement_lead, device=True)
        for token, next_fire_at in by_token.items():
            done = q.complete_many(session, token=token, next_fire_at=next_fire_at, visible_at=visible)
            for reminder_id in sorted(next_fire_at.keys() - done):
                log.warning(
                    "reminder %s: lease taken over (or reminder changed or deleted) before completion; "
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
