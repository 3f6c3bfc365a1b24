"""The reminders worker process: one APScheduler interval job (the dispatch tick) per process.

Reminders are rows, not APScheduler jobs: APScheduler job stores cannot be shared between
processes, and one job per reminder does not scale (see the README's scheduling notes). Each worker
claims due rows from the shared table, so any number of workers can run side by side.

``python -m scheduler.worker [--once]`` runs it with logging set up (what the process tests use);
``cramp-coach worker`` calls :func:`run_worker`, and ``cramp-coach run`` calls
:func:`start_background_worker`.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from scheduler import heartbeat, metrics, reports
from scheduler.channels import Channel, Messenger, channel_from_env, messenger_from_env
from scheduler.config import WorkerSettings
from scheduler.db import make_engine, make_session_factory, utcnow
from scheduler.dispatch import Dispatcher, TickStats
from scheduler.log_setup import configure_logging
from scheduler.logs import NO_VALUE, log_context, new_id

# Named explicitly: under `python -m scheduler.worker` __name__ is "__main__".
log = logging.getLogger("scheduler.worker")

JOB_ID = "dispatch-tick"
EXIT_OK, EXIT_TICK_ERRORS, EXIT_CONFIG = 0, 1, 2


def make_worker_id() -> str:
    """``host:pid:random``, so log lines and lease owners say which process held a reminder."""
    host = socket.gethostname().split(".")[0][:40] or "worker"
    return f"{host}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class _Parts:
    settings: WorkerSettings
    engine: Engine
    sessions: sessionmaker[Session]
    channel: Channel
    messenger: Messenger | None
    owns_channel: bool
    dispatcher: Dispatcher
    clock: Callable[[], datetime]
    heartbeat_file: Path

    @property
    def max_age_s(self) -> float:
        return heartbeat.default_max_age(self.settings.tick_seconds, self.settings.lease_seconds)

    def beat(self, last_tick: str, errors: int = 0) -> None:
        try:
            heartbeat.write(
                self.heartbeat_file,
                worker_id=self.dispatcher.worker_id,
                at=self.clock(),
                max_age_s=self.max_age_s,
                last_tick=last_tick,
                errors=errors,
            )
        except OSError as exc:
            log.error("heartbeat not written to %s: %s", self.heartbeat_file, exc.strerror or exc)

    def after_tick(self, stats: TickStats | None, duration_s: float) -> None:
        """The tick's metrics, the backlog's age (one indexed query) and a heartbeat."""
        oldest: float | None = None
        try:
            with self.sessions() as session:
                oldest = reports.oldest_due_age(session, self.clock())
        except SQLAlchemyError as exc:
            log.warning("oldest due reminder not measured: %s", exc.__class__.__name__)
        done = stats if stats is not None else TickStats(errors=1)
        metrics.record_tick(done, duration_s, oldest)
        self.beat(done.summary() or "nothing was due", done.errors)

    def close(self) -> None:
        if self.owns_channel:
            self.channel.close()
            if self.messenger is not None:
                self.messenger.close()
        self.engine.dispose()


def _build(
    env: Mapping[str, str],
    clock: Callable[[], datetime] | None,
    channel: Channel | None,
    messenger: Messenger | None = None,
) -> _Parts:
    """The worker's parts; a channel passed in comes with its messenger (or none), else both come
    from the environment."""
    settings = WorkerSettings.from_env(env)
    owns_channel = channel is None
    chosen = channel if channel is not None else channel_from_env(env)
    if owns_channel:
        messenger = messenger_from_env(env)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    dispatcher = Dispatcher(
        sessions,
        chosen,
        settings,
        clock=clock or utcnow,
        worker_id=make_worker_id(),
        on_sent=metrics.observe_lateness,
        messenger=messenger,
    )
    return _Parts(
        settings,
        engine,
        sessions,
        chosen,
        messenger,
        owns_channel,
        dispatcher,
        clock or utcnow,
        heartbeat.heartbeat_path(env),
    )


class _SkippedTickFilter(logging.Filter):
    """Drops APScheduler's warning for a tick skipped because the previous one is still running.

    With max_instances=1 that is the intended behaviour (a long tick is followed by the next one),
    and the warning would repeat every interval; the tick's own summary says how long it took.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def _quiet_chatty_loggers() -> None:
    # APScheduler logs "Running job ..." on every tick at INFO; the tick logs its own summary and
    # every failure. Only loggers nobody configured are changed.
    for name in ("apscheduler.executors.default",):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkippedTickFilter) for f in scheduler_log.filters):
        scheduler_log.addFilter(_SkippedTickFilter())


def _add_tick_job(scheduler: BaseScheduler, parts: _Parts, keep_going: Callable[[], bool]) -> None:
    def tick() -> None:
        # Each tick's lines share an id, as a request's do in the skill.
        with log_context(request_id=new_id("tick-"), user=NO_VALUE):
            started = time.monotonic()
            stats: TickStats | None = None
            try:
                stats = parts.dispatcher.tick(keep_going=keep_going)
            except Exception:
                # The next tick tries again; the leases bring back whatever this one had claimed.
                log.exception("dispatch tick failed; will retry next tick")
            parts.after_tick(stats, time.monotonic() - started)

    scheduler.add_job(
        tick,
        "interval",
        seconds=parts.settings.tick_seconds,
        id=JOB_ID,
        name="dispatch tick",
        # One tick at a time per process; ticks missed while one ran are merged into one, however
        # late (the default 1 s misfire grace would silently drop them).
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=datetime.now(UTC),
    )


def run_worker(
    env: Mapping[str, str],
    *,
    once: bool = False,
    clock: Callable[[], datetime] | None = None,
    channel: Channel | None = None,
) -> int:
    """Run the worker until SIGTERM/SIGINT (or one tick with ``once``); returns the exit code."""
    try:
        parts = _build(env, clock, channel)
    except ValueError as exc:
        log.error("worker not started: %s", exc)
        return EXIT_CONFIG
    try:
        if once:
            with log_context(request_id=new_id("tick-"), user=NO_VALUE):
                stats = parts.dispatcher.tick()
            log.info("single tick done: %s", stats.summary() or "nothing was due")
            return EXIT_TICK_ERRORS if stats.errors else EXIT_OK
        try:
            metrics.serve(env)
        except ValueError as exc:
            log.error("worker not started: %s", exc)
            return EXIT_CONFIG
        return _run_blocking(parts)
    finally:
        parts.close()


def _run_blocking(parts: _Parts) -> int:
    _quiet_chatty_loggers()
    scheduler = BlockingScheduler(timezone=UTC)
    stopping = threading.Event()
    stopper: list[threading.Thread] = []

    def stop() -> None:
        # A signal may land just before start(): give the scheduler a moment to be running.
        deadline = time.monotonic() + 5
        while not scheduler.running and time.monotonic() < deadline:
            time.sleep(0.02)
        if scheduler.running:
            scheduler.shutdown(wait=True)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("%s received: finishing the current batch, then stopping", signal.Signals(signum).name)
        # shutdown(wait=True) joins the running tick; doing that inside the handler could deadlock
        # on a lock the interrupted main thread holds, so it runs in its own thread.
        thread = threading.Thread(target=stop, name="worker-stop")
        stopper.append(thread)
        thread.start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _add_tick_job(scheduler, parts, lambda: not stopping.is_set())
        log.info(
            "worker %s started: tick every %gs, batches of %d, lease %gs, %d concurrent sends, channel %s, "
            "device reminders %s",
            parts.dispatcher.worker_id,
            parts.settings.tick_seconds,
            parts.settings.batch_size,
            parts.settings.lease_seconds,
            parts.settings.concurrency,
            parts.channel.name,
            f"placed {parts.settings.placement_lead} ahead"
            if parts.messenger
            else "off (no Alexa credentials)",
        )
        parts.beat("started")
        if not stopping.is_set():
            scheduler.start()  # returns once shutdown() has run
        for thread in stopper:
            thread.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("worker stopped")
    return EXIT_OK


def start_background_worker(
    env: Mapping[str, str],
    *,
    clock: Callable[[], datetime] | None = None,
    channel: Channel | None = None,
) -> BackgroundScheduler:
    """Start the same tick in a background thread (``cramp-coach run``); returns the BackgroundScheduler.

    ``scheduler.shutdown(wait=True)`` lets the running batch finish, claims nothing more, then
    closes the channel and the database engine. Raises ValueError for bad settings.
    """
    parts = _build(env, clock, channel)
    _quiet_chatty_loggers()
    scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
    # shutdown() marks the scheduler stopped before it waits for the running job, so the tick sees
    # it between batches.
    _add_tick_job(scheduler, parts, lambda: bool(scheduler.running))

    def on_shutdown(_event: Any) -> None:
        parts.close()
        log.info("worker stopped")

    scheduler.add_listener(on_shutdown, EVENT_SCHEDULER_SHUTDOWN)
    scheduler.start()
    log.info("background worker %s started", parts.dispatcher.worker_id)
    return scheduler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler.worker", description=__doc__)
    parser.add_argument("--once", action="store_true", help="run a single dispatch tick and exit")
    args = parser.parse_args(argv)
    configure_logging()
    return run_worker(dict(os.environ), once=args.once)


if __name__ == "__main__":
    sys.exit(main())
