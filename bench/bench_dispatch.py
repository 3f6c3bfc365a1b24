"""Dispatch at scale: 100,000 reminders due in the same instant, through real worker processes.

    python bench/bench_dispatch.py [--n 100000] [--delay 0.05] [--throttle 0.02]
                                   [--backend auto|sqlite|postgresql|both] [--out bench/results]
    python bench/bench_dispatch.py --tiny      # a few hundred, in seconds (what the test runs)

The stub Alexa API runs in its own process (``python -m tests.stubs.alexa_api --fast``): it waits
``--delay`` before answering each event and answers 429 (Retry-After 1 s) to ``--throttle`` of
them at random. Per backend:

* **baseline**: the same client (``AlexaChannel``, same concurrency, same bodies) posting ``--n``
  notices with no database at all: the ceiling for this machine and stub;
* **dispatch**: ``--n`` reminders seeded (progress bar) and made due at one instant a few seconds
  ahead, then delivered by ``python -m scheduler.worker`` processes (one on SQLite, two on
  PostgreSQL). Lateness is the stub's arrival time of each accepted event minus the due time.
  It checks that the stub accepted every referenceId exactly once, that no user got two events,
  and that the delivery log holds one final row per occurrence; it reads each worker's peak RSS;
* **faults** (SQLite): issue 7's case, ``--fault-n`` reminders with 30% of events answered 500 or
  429: how many ended 'failed' (before the retry rework: 4 of 10,000).

Raw figures go to ``<out>/dispatch.json`` (every reminder's lateness), percentiles to
``<out>/dispatch_summary.json``, and the lateness CDF to ``<out>/dispatch_lateness.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, backends, database, seed_due_at, table
from sqlalchemy import func, select, update

from scheduler import aio
from scheduler import queries as q
from scheduler.channels import AlexaChannel, Notice, Outcome, reference_id_for
from scheduler.db import make_engine
from scheduler.models import Delivery
from tests.stubs.alexa_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

LEAD = timedelta(seconds=4)  # the due instant, this far after the seeded rows are made due


@dataclass(frozen=True)
class Options:
    n: int
    delay: float
    throttle: float
    concurrency: int
    batch: int
    tick: float
    fault_n: int
    timeout: float


@contextmanager
def stub_process(delay: float, *, throttle: float = 0.0, faults: float = 0.0) -> Iterator[str]:
    command = [sys.executable, "-W", "ignore::RuntimeWarning", "-m", "tests.stubs.alexa_api", "--fast"]
    command += ["--port", "0", "--delay", str(delay), "--throttle", str(throttle), "--faults", str(faults)]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        assert process.stdout is not None
        match = re.search(r"listening on (http://\S+)", process.stdout.readline())
        if not match:
            raise SystemExit("the stub did not start")
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stub_stats(url: str) -> dict[str, Any]:
    reply = httpx.get(url + "/_stub/stats", timeout=60)
    reply.raise_for_status()
    result: dict[str, Any] = reply.json()
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


# -- the baseline: the same client, no database ----------------------------------------------------


def baseline(url: str, n: int, concurrency: int) -> dict[str, Any]:
    channel = AlexaChannel(
        DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, api_endpoint=url, token_url=url + "/auth/o2/token"
    )
    at = datetime.now(UTC).replace(microsecond=0)
    notices = [
        Notice(
            i,
            f"amzn1.ask.account.BASE{i:09d}",
            "stretch",
            at,
            reference_id_for(i, at),
            "en-US",
            at + timedelta(hours=4),
        )
        for i in range(1, n + 1)
    ]

    async def post_all() -> tuple[collections.Counter[str], float]:
        await channel.send(notices[0])  # the token, outside the timing
        limit = asyncio.Semaphore(concurrency)
        outcomes: collections.Counter[str] = collections.Counter()

        async def one(notice: Notice) -> None:
            async with limit:
                outcomes[(await channel.send(notice)).outcome.value] += 1

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(x) for x in notices[1:]))
        return outcomes, time.perf_counter() - started, time.process_time() - cpu

    try:
        outcomes, seconds, cpu = aio.run(post_all())
    finally:
        channel.close()
    assert outcomes[Outcome.DELIVERED.value] + outcomes[Outcome.RETRY.value] == n - 1, outcomes
    return {
        "posts": n - 1,
        "seconds": seconds,
        "posts_per_s": (n - 1) / seconds,
        "cpu_us_per_post": cpu / (n - 1) * 1e6,
        "outcomes": dict(outcomes),
    }


# -- worker processes -------------------------------------------------------------------------------


class Worker:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        base = {k: v for k, v in os.environ.items() if not k.startswith(("ALEXA_", "WORKER_", "REMINDER_"))}
        with log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scheduler.worker"],
                env={**base, **env},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def cpu_seconds(self) -> float:
        """User + system CPU this process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def worker_env(url: str, stub: str, options: Options) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "ALEXA_CLIENT_ID": DEFAULT_CLIENT_ID,
        "ALEXA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "ALEXA_API_ENDPOINT": stub,
        "LWA_TOKEN_URL": stub + "/auth/o2/token",
        "WORKER_TICK_SECONDS": str(options.tick),
        "WORKER_BATCH_SIZE": str(options.batch),
        "WORKER_CONCURRENCY": str(options.concurrency),
        "LOG_LEVEL": "WARNING",
    }


def statuses(engine: Any) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    return {status: count for status, count in rows}


def run_dispatch(
    backend: str, stub: str, n: int, workers: int, options: Options, out: Path, tag: str
) -> dict[str, Any]:
    """Seed ``n`` due reminders, deliver them with ``workers`` processes, and check the result."""
    with database(backend) as url:
        engine = make_engine(url)
        far = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        seed_due_at(engine, rows=n, due=n, due_at=far, tag=tag, progress=f"seeding {n:,} on {backend}")
        procs = [
            Worker(worker_env(url, stub, options), out / f"worker-{backend}-{tag}-{i}.log")
            for i in range(workers)
        ]
        try:
            time.sleep(2.0)  # let them start (imports, first empty tick)
            due_at = datetime.now(UTC).replace(microsecond=0) + LEAD
            with engine.begin() as connection:
                connection.execute(update(q.reminders).values(next_fire_at=due_at, visible_at=due_at))
            made_due = datetime.now(UTC)
            cpu_before = sum(p.cpu_seconds() for p in procs)  # start-up and idle ticks excluded
            assert made_due < due_at, "making the rows due took longer than the lead"
            deadline = time.monotonic() + options.timeout
            while True:
                counts = statuses(engine)
                final = sum(v for k, v in counts.items() if k in q.FINAL_STATUSES)
                if final >= n or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            rss = [p.peak_rss_mb() for p in procs]
            cpu = sum(p.cpu_seconds() for p in procs) - cpu_before
        finally:
            for p in procs:
                p.stop()
        counts = statuses(engine)
        with engine.connect() as connection:
            attempts = connection.execute(select(func.sum(Delivery.attempts))).scalar_one() or 0
        engine.dispose()
    stats = stub_stats(stub)
    expected = {reference_id_for(i, due_at) for i in range(1, n + 1)}
    accepted = [(ref, user, at) for ref, user, at in stats["accepted"] if ref in expected]
    per_user = collections.Counter(user for _, user, _ in accepted)
    lateness = [at - due_at.timestamp() for _, _, at in accepted]
    last = max(lateness) if lateness else float("nan")
    return {
        "backend": backend,
        "workers": workers,
        "n": n,
        "delivered_log": counts.get("sent", 0) + counts.get("duplicate", 0),
        "statuses": counts,
        "attempts": int(attempts),
        "accepted_at_stub": len(accepted),
        "lost": len(expected - {ref for ref, _, _ in accepted}),
        "users_notified_twice": sum(1 for c in per_user.values() if c > 1),
        "resends_answered_409": sum(stats["duplicates"].get(ref, 0) for ref in expected),
        "stub_statuses": stats["statuses"],
        "seconds_to_last": last,
        "throughput_per_s": len(accepted) / last if last > 0 else float("nan"),
        "lateness_p50": percentile(lateness, 0.50),
        "lateness_p90": percentile(lateness, 0.90),
        "lateness_p99": percentile(lateness, 0.99),
        "lateness_max": last,
        "lateness": sorted(lateness),
        "peak_rss_mb": rss,
        "cpu_us_per_notice": cpu / n * 1e6,
    }


# -- output -----------------------------------------------------------------------------------------


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The report without the per-reminder lateness lists: their percentiles 0..100 instead."""

    def trim(run: dict[str, Any]) -> dict[str, Any]:
        values = run["lateness"]
        out = {k: v for k, v in run.items() if k != "lateness"}
        out["lateness_percentiles"] = [round(percentile(values, p / 100), 3) for p in range(101)]
        return out

    trimmed = {**report, "runs": [trim(r) for r in report["runs"]]}
    if "faults" in report:
        trimmed["faults"] = trim(report["faults"])
    return trimmed


def draw_cdf(runs: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    for run in runs:
        values = run["lateness"]
        if not values:
            continue
        share = [(i + 1) / len(values) for i in range(len(values))]
        label = f"{run['backend']}, {run['workers']} worker{'s' if run['workers'] > 1 else ''}"
        axes.step(values, share, where="post", label=f"{label} (p99 {run['lateness_p99']:.1f} s)")
    axes.axvline(30, color="grey", linestyle="--", linewidth=1, label="target: p99 < 30 s")
    axes.set_xlabel("lateness: arrival at the stub minus due time (s)")
    axes.set_ylabel("share of reminders delivered")
    axes.set_ylim(0, 1.01)
    axes.set_xlim(left=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="reminders due at once")
    parser.add_argument("--delay", type=float, default=0.05, help="stub wait per event, seconds")
    parser.add_argument("--throttle", type=float, default=0.02, help="share of events answered 429")
    parser.add_argument("--concurrency", type=int, default=512, help="WORKER_CONCURRENCY")
    parser.add_argument("--batch", type=int, default=1_000, help="WORKER_BATCH_SIZE")
    parser.add_argument("--tick", type=float, default=1.0, help="WORKER_TICK_SECONDS")
    parser.add_argument(
        "--fault-n", type=int, default=10_000, help="reminders in the 30%%-faults run (0: skip)"
    )
    parser.add_argument("--backend", choices=["auto", "sqlite", "postgresql", "both"], default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up waiting after this long")
    parser.add_argument("--tiny", action="store_true", help="a few hundred reminders: checks it runs")
    args = parser.parse_args(argv)
    if args.tiny:
        args.n, args.delay, args.fault_n, args.concurrency, args.batch = 300, 0.01, 200, 64, 100
        args.timeout = 120.0
    options = Options(
        args.n, args.delay, args.throttle, args.concurrency, args.batch, args.tick, args.fault_n, args.timeout
    )
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"options": options.__dict__, "when": datetime.now(UTC).isoformat(), "runs": []}
    for backend in backends(args.backend):
        workers = 2 if backend == "postgresql" else 1
        with stub_process(options.delay, throttle=options.throttle) as stub:
            base = baseline(stub, options.n, options.concurrency)
            run = run_dispatch(backend, stub, options.n, workers, options, args.out, "D")
        run["baseline"] = base
        run["vs_baseline"] = run["throughput_per_s"] / base["posts_per_s"]
        # The same comparison in CPU per notice, which other load on the machine barely moves.
        run["cpu_vs_baseline"] = base["cpu_us_per_post"] / run["cpu_us_per_notice"]
        run["load_average"] = os.getloadavg()
        report["runs"].append(run)
    if options.fault_n and "sqlite" in backends(args.backend):
        with stub_process(options.delay, faults=0.3) as stub:
            faults = run_dispatch("sqlite", stub, options.fault_n, 1, options, args.out, "F")
        report["faults"] = faults
    report["out"] = str(args.out)
    (args.out / "dispatch.json").write_text(json.dumps(report))
    (args.out / "dispatch_summary.json").write_text(json.dumps(summary(report), indent=1))
    title = (
        f"{options.n:,} reminders due at once; stub waits {options.delay * 1000:g} ms, "
        f"429 to {options.throttle:.0%}; {options.concurrency} in flight per worker"
    )
    draw_cdf(report["runs"], args.out / "dispatch_lateness.png", title)
    print_tables(report)
    return report


def print_tables(report: dict[str, Any]) -> None:
    rows = []
    for run in report["runs"]:
        rows.append(
            (
                f"{run['backend']}, {run['workers']} worker(s)",
                f"{run['n']:,}",
                f"{run['lateness_p50']:.1f}",
                f"{run['lateness_p99']:.1f}",
                f"{run['lateness_max']:.1f}",
                f"{run['throughput_per_s']:,.0f}",
                f"{run['baseline']['posts_per_s']:,.0f}",
                f"{run['vs_baseline']:.2f}",
                f"{run['cpu_us_per_notice']:,.0f}",
                f"{run['baseline']['cpu_us_per_post']:,.0f}",
                f"{run['cpu_vs_baseline']:.2f}",
                "/".join(f"{x:.0f}" for x in run["peak_rss_mb"]),
                run["lost"],
                run["users_notified_twice"],
                run["resends_answered_409"],
            )
        )
    print(
        table(
            "\ndispatch: every reminder due at the same instant",
            [
                "run",
                "due",
                "p50 s",
                "p99 s",
                "max s",
                "sent/s",
                "no-DB posts/s",
                "vs no-DB",
                "CPU µs/notice",
                "no-DB CPU µs/post",
                "CPU vs no-DB",
                "peak RSS MB",
                "lost",
                "twice",
                "409s",
            ],
            rows,
        )
    )
    faults = report.get("faults")
    if faults:
        print(
            f"\n30% faults: {faults['n']:,} due, statuses {faults['statuses']}, "
            f"{faults['attempts']:,} attempts, lost {faults['lost']}, "
            f"p99 lateness {faults['lateness_p99']:.1f} s"
        )
    print(f"\nraw figures and the CDF: {report['out']}")


if __name__ == "__main__":
    main()
