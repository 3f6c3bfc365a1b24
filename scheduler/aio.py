"""The process's one event loop for outbound sends, running in its own thread.

Sends are asynchronous (hundreds in flight on one core), while the worker's callers (APScheduler's
job thread, the CLI, tests) are plain threads. They hand coroutines to this loop with :func:`run`.
One loop per process, never one per call, because a pooled HTTP session belongs to the loop that
opened it: every channel and dispatcher in the process shares this one, so their pools survive from
tick to tick. uvloop is used when installed (it roughly halves the loop's cost per request).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use in a daemon thread."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            new = _new_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(new)
                new.call_soon(ready.set)
                new.run_forever()

            threading.Thread(target=serve, name="send-loop", daemon=True).start()
            ready.wait()
            _loop = new
        return _loop


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the shared loop and wait for its result (from any thread but the loop's own)."""
    target = loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is target:
        coro.close()
        raise RuntimeError("aio.run called from the send loop itself; await the coroutine instead")
    return asyncio.run_coroutine_threadsafe(coro, target).result(timeout)
