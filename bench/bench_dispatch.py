"""Dispatch throughput: concurrent sends against sequential ones, through the real Dispatcher.

    python bench/bench_dispatch.py [--delay 0.02] [--backend auto|sqlite|postgresql|both]

The stub Alexa API runs in its own process (``python -m tests.stubs.alexa_api``) and waits
``--delay`` seconds before answering each event, standing in for Amazon's round trip. Each variant
gets a fresh database with N reminders due now, and ticks the Dispatcher (AlexaChannel, real
clock) until nothing is left; it counts 'sent' rows and checks the stub accepted the same number.
Concurrency 1 is the baseline; results are notices per second and the ratio to it.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from common import ROOT, backends, database, seed, table, utc_now
from sqlalchemy import func, select

from scheduler.channels import AlexaChannel
from scheduler.config import WorkerSettings
from scheduler.db import make_engine, make_session_factory, utcnow
from scheduler.dispatch import Dispatcher, TickStats
from scheduler.models import Delivery

CLIENT_ID = "amzn1.application-oa2-client.stub"
CLIENT_SECRET = "stub-client-secret"


@contextmanager
def stub_process(delay: float) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        # -W: runpy warns because tests.stubs imports the module it is asked to run; harmless.
        [
            sys.executable,
            "-W",
            "ignore::RuntimeWarning",
            "-m",
            "tests.stubs.alexa_api",
            "--port",
            "0",
            "--delay",
            str(delay),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        match = re.search(r"listening on (http://\S+)", process.stdout.readline())
        if not match:
            raise SystemExit("the stub did not start")
        yield match.group(1), process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def stop_stub(process: subprocess.Popen[str]) -> int:
    """SIGINT the stub and return how many events it accepted in all."""
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    match = re.search(r"accepted (\d+) events", out)
    return int(match.group(1)) if match else -1


def run_variant(backend: str, url_base: str, concurrency: int, n: int) -> tuple[int, float]:
    with database(backend) as url:
        engine = make_engine(url)
        now = utc_now()
        seed(engine, rows=n, due=n, now=now, tag=f"C{concurrency}X")
        settings = WorkerSettings(database_url=url, concurrency=concurrency, max_batches_per_tick=1_000)
        channel = AlexaChannel(
            CLIENT_ID, CLIENT_SECRET, api_endpoint=url_base, token_url=url_base + "/auth/o2/token"
        )
        dispatcher = Dispatcher(
            make_session_factory(engine), channel, settings, clock=utcnow, worker_id="bench:1:x"
        )
        start = time.perf_counter()
        total = TickStats()
        while True:
            stats = dispatcher.tick()
            total.add(stats)
            if stats.claimed == 0:
                break
        seconds = time.perf_counter() - start
        channel.close()
        with engine.connect() as connection:
            sent = connection.execute(
                select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
            ).scalar_one()
        engine.dispose()
        # Every seeded row is live except the paused ones (one in fifty).
        assert sent == total.sent == total.claimed, total
        return int(sent), seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delay", type=float, default=0.02, help="stub delay per event, seconds")
    parser.add_argument("--backend", choices=["auto", "sqlite", "postgresql", "both"], default="auto")
    parser.add_argument("--n1", type=int, default=250, help="reminders for the concurrency-1 baseline")
    parser.add_argument("--n", type=int, default=2_000, help="reminders for the concurrent variants")
    args = parser.parse_args()
    variants = [(1, args.n1), (8, args.n), (32, args.n)]
    for backend in backends(args.backend):
        rows = []
        with stub_process(args.delay) as (url_base, process):
            for concurrency, n in variants:
                sent, seconds = run_variant(backend, url_base, concurrency, n)
                rows.append((concurrency, sent, seconds))
            accepted = stop_stub(process)
        assert accepted == sum(sent for _, sent, _ in rows), (accepted, rows)
        base = rows[0][1] / rows[0][2]
        print(
            table(
                f"\n[{backend}] dispatch through the stub ({args.delay * 1000:g} ms per event), "
                f"stub accepted {accepted:,}",
                ["concurrency", "sent", "seconds", "notices/s", "vs concurrency 1"],
                [
                    (str(c), f"{sent:,}", f"{s:.2f}", f"{sent / s:,.0f}", f"{(sent / s) / base:.1f}x")
                    for c, sent, s in rows
                ],
            )
        )


if __name__ == "__main__":
    main()
