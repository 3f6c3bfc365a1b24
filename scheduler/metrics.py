"""The reminders worker's Prometheus metrics, served on its own port (WORKER_METRICS_PORT).

- ``cramp_coach_reminders_total{outcome}``: what the ticks did with due reminders, one outcome per
  ``TickStats`` field (claimed, sent, duplicate, missed, retried, rejected, forbidden, failed...);
- ``cramp_coach_reminder_lateness_seconds``: from an occurrence's time to its send;
- ``cramp_coach_oldest_due_reminder_age_seconds``: how late the oldest due, unclaimed occurrence
  is, after each tick (0 when none is waiting): the backlog, whatever the counters say;
- ``cramp_coach_worker_last_tick_timestamp_seconds`` and ``..._tick_duration_seconds``.

``cramp-coach run`` (skill and worker in one process) does not open the port: the skill's
/metrics shows these too.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

DEFAULT_PORT = 9102
DEFAULT_HOST = "127.0.0.1"
_OFF = {"off", "none", "false", "no"}

REMINDERS = Counter("cramp_coach_reminders", "Due reminders handled by the worker, by outcome.", ["outcome"])
LATENESS = Histogram(
    "cramp_coach_reminder_lateness_seconds",
    "Seconds from a reminder's occurrence to its send.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600),
)
OLDEST_DUE = Gauge(
    "cramp_coach_oldest_due_reminder_age_seconds",
    "How late the oldest due, unclaimed reminder is, measured after each tick.",
    multiprocess_mode="max",
)
LAST_TICK = Gauge(
    "cramp_coach_worker_last_tick_timestamp_seconds",
    "When the last tick ended (Unix time).",
    multiprocess_mode="max",
)
TICK_SECONDS = Histogram(
    "cramp_coach_worker_tick_duration_seconds",
    "How long one dispatch tick took.",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300),
)


def record_tick(stats: Any, duration_s: float, oldest_due_s: float | None) -> None:
    """Count a finished tick; ``stats`` is a ``scheduler.dispatch.TickStats`` (a dataclass of counts)."""
    for field in dataclasses.fields(stats):
        value = getattr(stats, field.name)
        if isinstance(value, int) and value:
            REMINDERS.labels(field.name).inc(value)
    TICK_SECONDS.observe(duration_s)
    LAST_TICK.set_to_current_time()
    if oldest_due_s is not None:
        OLDEST_DUE.set(oldest_due_s)


def observe_lateness(seconds: float) -> None:
    LATENESS.observe(max(0.0, seconds))


def serve(env: Mapping[str, str]) -> int | None:
    """Start the metrics endpoint in a daemon thread; returns the port, or None when off or failed.

    A port already in use is logged and the worker carries on: reminders matter more than metrics.
    """
    raw = (env.get("WORKER_METRICS_PORT") or "").strip()
    if raw.lower() in _OFF:
        return None
    try:
        port = int(raw) if raw else DEFAULT_PORT
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"WORKER_METRICS_PORT must be a port number (0 for any) or off, got {raw!r}"
        ) from None
    host = (env.get("WORKER_METRICS_HOST") or "").strip() or DEFAULT_HOST
    try:
        server, _thread = start_http_server(port, addr=host)
    except OSError as exc:
        log.error("worker metrics not served on %s:%s: %s", host, port, exc.strerror or exc)
        return None
    chosen = int(server.server_port)
    log.info("worker metrics on http://%s:%d/metrics", host, chosen)
    return chosen
