"""Refusing a request that was already received: each requestId is answered once.

Amazon asks only for the 150-second timestamp check, which lets a captured signed request be
replayed inside that window. This guard remembers every requestId for as long as a copy could
still pass the timestamp check, and refuses the copy.

It is per process and in memory: O(1) per request, no database write on the request path, and it
keeps working when the database is down. A deployment with several server processes therefore
refuses a replay only when it reaches the process that saw the original (README, "Reliability").
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 100_000
# Say that ids are being forgotten early the first time, then once per this many.
_WARN_EVERY = 10_000


class ReplayGuard:
    """Thread-safe set of recently seen requestIds, each kept until its window has passed.

    A request stamped ``t`` passes the timestamp check while ``|now - t| <= tolerance``; first seen
    at ``now0``, its ``t >= now0 - tolerance``, so no copy of it can pass after
    ``now0 + 2 * tolerance``. That is how long an id is kept, without parsing the timestamp again.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._max = max_entries
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        # One queue per window length, so each is in expiry order and pruning only looks at heads.
        self._queues: dict[float, deque[tuple[float, str]]] = {}
        self._evicted = 0

    def claim(self, request_id: str, now: datetime, tolerance_s: float) -> bool:
        """Record ``request_id``; False when it was already recorded and its window has not passed."""
        at = now.timestamp()
        with self._lock:
            self._prune(at)
            if request_id in self._expiry:
                return False
            expiry = at + 2 * tolerance_s
            self._expiry[request_id] = expiry
            self._queues.setdefault(tolerance_s, deque()).append((expiry, request_id))
            if len(self._expiry) > self._max:
                self._evict_oldest()
            return True

    def release(self, request_id: str) -> None:
        """Forget ``request_id`` so that a redelivery is accepted (the first copy was not processed)."""
        with self._lock:
            self._expiry.pop(request_id, None)

    def __len__(self) -> int:
        return len(self._expiry)

    def _prune(self, at: float) -> None:
        for queue in self._queues.values():
            while queue and queue[0][0] <= at:
                self._drop(*queue.popleft())

    def _drop(self, expiry: float, request_id: str) -> None:
        # A released and re-claimed id has a newer expiry: only the entry that matches is removed.
        if self._expiry.get(request_id) == expiry:
            del self._expiry[request_id]

    def _evict_oldest(self) -> None:
        while len(self._expiry) > self._max:
            queue = min((q for q in self._queues.values() if q), key=lambda q: q[0][0])
            self._drop(*queue.popleft())
            if self._evicted % _WARN_EVERY == 0:
                log.warning(
                    "replay guard full (%d ids): forgetting the oldest early; raise ALEXA_REPLAY_CACHE_SIZE",
                    self._max,
                )
            self._evicted += 1
