"""The worker's sign of life: a small JSON file rewritten at every tick, and the check that reads it.

``cramp-coach worker`` writes it (WORKER_HEARTBEAT_FILE) when it starts and after every tick;
``cramp-coach worker health`` reads it and fails when it is missing, unreadable or older than the
allowed age, which is what the compose health check and the systemd check timer run. A tick that
hangs stops the beats, so a stuck worker is seen even though its process is alive.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(tempfile.gettempdir()) / "cramp-coach-worker.heartbeat"
# A tick is bounded by its lease: one older than two leases (or a minute) is stuck.
MIN_MAX_AGE_S = 60.0


def heartbeat_path(env: Mapping[str, str]) -> Path:
    raw = (env.get("WORKER_HEARTBEAT_FILE") or "").strip()
    return Path(raw) if raw else DEFAULT_FILE


def default_max_age(tick_seconds: float, lease_seconds: float) -> float:
    return max(MIN_MAX_AGE_S, 3 * tick_seconds, 2 * lease_seconds)


def write(path: Path, *, worker_id: str, at: datetime, max_age_s: float, last_tick: str, errors: int) -> None:
    """Replace the file in one step (a reader never sees half a file)."""
    beat = {
        "worker_id": worker_id,
        "pid": os.getpid(),
        "at": at.isoformat(),
        "max_age_seconds": max_age_s,
        "last_tick": last_tick,
        "errors": errors,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(beat), encoding="utf-8")
    os.replace(temporary, path)


@dataclass(frozen=True)
class Health:
    ok: bool
    message: str


def check(path: Path, now: datetime, max_age_s: float | None = None) -> Health:
    """Healthy when the file was written within ``max_age_s`` (default: the age the worker wrote)."""
    try:
        beat: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        at = datetime.fromisoformat(beat["at"])
        allowed = float(max_age_s if max_age_s is not None else beat["max_age_seconds"])
    except FileNotFoundError:
        return Health(False, f"no heartbeat at {path}: the worker has not started, or writes elsewhere")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Health(False, f"heartbeat {path} unreadable: {exc.__class__.__name__}")
    age = (now - at).total_seconds()
    who = f"worker {beat.get('worker_id', '?')}"
    if age > allowed:
        return Health(False, f"{who} last beat {age:.0f} s ago (allowed {allowed:.0f} s): stuck or stopped")
    errors = beat.get("errors") or 0
    note = f"; last tick had {errors} error(s)" if errors else ""
    return Health(True, f"{who} alive, last beat {age:.0f} s ago: {beat.get('last_tick') or 'started'}{note}")
