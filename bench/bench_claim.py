"""Claim throughput: the worker's one-statement batch claim against per-row baselines.

    python bench/bench_claim.py [--rows 100000] [--due 20000] [--backend auto|sqlite|postgresql|both]

Seeds ``--rows`` reminders (``--due`` of them due now), then claims every due row with

* ``one-statement``: scheduler.queries.claim, batches of ``--batch`` (UPDATE ... WHERE id IN
  (SELECT ... LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING ...), one transaction per batch;
* ``per-row``: the baseline: one transaction per reminder, SELECT the oldest due id, then UPDATE
  it, with the same indexed predicate;
* ``per-row, default booleans``: the same, written the obvious SQLAlchemy way
  (``enabled, not_(paused)``), which renders as ``enabled = 1 AND paused = 0`` on SQLite and so
  cannot use the partial index (SQLite only; PostgreSQL renders it like the index predicate);
* ``one-statement, 2 claimers`` (PostgreSQL): two threads claiming at once, checking that no row
  is claimed twice.

Per-row variants are time-boxed (``--time-box`` seconds) and reported as rows per second. Prints
the due query's plan at this size to show it reads ix_reminders_due. Results are ratios.

    python bench/bench_claim.py --scale 10000,1000000[,10000000] [--scale-due 1000]

``--scale`` instead asks whether the due query's cost depends on how many reminders are stored:
for each size it seeds that many (``--scale-due`` of them due), prints the plan, and times
claiming the due ones (median of ``--repeats``), as a ratio to the smallest size. Ten million rows
take minutes to seed, so that size is only run when asked for.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from common import analyze, backends, count_due, database, release_all, seed, seed_due_at, table, utc_now
from sqlalchemy import ColumnElement, Engine, not_, select, update
from sqlalchemy.orm import Session, sessionmaker

from scheduler import queries as q
from scheduler.db import make_engine, make_session_factory

LEASE = timedelta(minutes=2)


def one_statement(sessions: sessionmaker[Session], now: datetime, batch: int, worker: str) -> list[int]:
    ids: list[int] = []
    while True:
        with sessions.begin() as session:
            got = q.claim(session, now=now, lease=LEASE, worker=worker, limit=batch)
        ids.extend(c.id for c in got)
        if len(got) < batch:
            return ids


def per_row(engine: Engine, now: datetime, predicate: ColumnElement[bool], time_box: float) -> int:
    r = q.reminders
    pick = (
        select(r.c.id)
        .where(predicate, r.c.visible_at <= now)
        .order_by(r.c.visible_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    deadline = time.perf_counter() + time_box
    claimed = 0
    while time.perf_counter() < deadline:
        with engine.begin() as connection:
            rid = connection.execute(pick).scalar()
            if rid is None:
                break
            connection.execute(
                update(r)
                .where(r.c.id == rid)
                .values(visible_at=now + LEASE, lease_owner="bench", lease_token=str(uuid.uuid4()))
            )
        claimed += 1
    return claimed


def ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 1 else f"{value:.3f}x"


def timed(run: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    n = run()
    return n, time.perf_counter() - start


def bench(backend: str, rows: int, due: int, batch: int, time_box: float) -> None:
    with database(backend) as url:
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        now = utc_now()
        started = time.perf_counter()
        seed(engine, rows=rows, due=due, now=now)
        live_due = count_due(engine, now)
        print(
            f"\n[{backend}] seeded {rows:,} reminders ({live_due:,} due and live) "
            f"in {time.perf_counter() - started:.1f}s"
        )

        with engine.connect() as connection:
            plan = q.explain_due(connection, now, batch)
        print(f"[{backend}] due query plan at {rows:,} rows:")
        for line in plan:
            print("    " + line)

        results: list[tuple[str, int, float]] = []

        def run(name: str, fn: Callable[[], int]) -> None:
            n, seconds = timed(fn)
            results.append((name, n, seconds))
            release_all(engine)

        # An untimed pass first: the first writes to freshly loaded rows cost extra (PostgreSQL
        # sets hint bits), which would otherwise count against whichever variant runs first.
        one_statement(sessions, now, batch, "warm-up")
        release_all(engine)
        run("one-statement", lambda: len(one_statement(sessions, now, batch, "bench")))
        if backend == "postgresql":
            claimed: list[list[int]] = [[], []]

            def claimer(i: int) -> None:
                claimed[i] = one_statement(sessions, now, batch, f"bench-{i}")

            def two() -> int:
                threads = [threading.Thread(target=claimer, args=(i,)) for i in range(2)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                every = claimed[0] + claimed[1]
                assert len(every) == len(set(every)) == live_due, "a row was claimed twice or missed"
                return len(every)

            run("one-statement, 2 claimers", two)
        run("per-row (baseline)", lambda: per_row(engine, now, q.LIVE, time_box))
        if backend == "sqlite":
            r = q.reminders
            naive = r.c.enabled & not_(r.c.paused)
            with engine.connect() as connection:
                sql = str(
                    select(r.c.id)
                    .where(naive, r.c.visible_at <= now)
                    .order_by(r.c.visible_at)
                    .limit(1)
                    .compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
                )
                naive_plan = [str(row[3]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
            print(f"[{backend}] plan with SQLAlchemy's default boolean rendering: {'; '.join(naive_plan)}")
            run("per-row, default booleans", lambda: per_row(engine, now, naive, time_box))
        analyze(engine)
        engine.dispose()

    base = next(n / s for name, n, s in results if name.startswith("per-row (baseline)"))
    print(
        table(
            f"[{backend}] claiming {live_due:,} due of {rows:,} "
            f"(batches of {batch}; per-row time-boxed to {time_box:g}s)",
            ["variant", "claimed", "seconds", "rows/s", "vs per-row"],
            [(name, f"{n:,}", f"{s:.2f}", f"{n / s:,.0f}", ratio((n / s) / base)) for name, n, s in results],
        )
    )


def scale(backend: str, sizes: list[int], due: int, batch: int, repeats: int) -> list[dict[str, object]]:
    """The claim's cost at a fixed due count, for growing numbers of stored reminders."""
    results: list[dict[str, object]] = []
    for size in sizes:
        with database(backend) as url:
            engine = make_engine(url)
            sessions = make_session_factory(engine)
            now = utc_now()
            started = time.perf_counter()
            seed_due_at(
                engine,
                rows=size,
                due=due,
                due_at=now - timedelta(minutes=1),
                progress=f"seeding {size:,} ({backend})",
            )
            seeded = time.perf_counter() - started
            with engine.connect() as connection:
                plan = q.explain_due(connection, now, batch)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                claimed = one_statement(sessions, now, batch, "scale")
                times.append(time.perf_counter() - start)
                assert len(claimed) == due, (len(claimed), due)
                # Undo just those claims (the due rows are ids 1..due); no full-table work here.
                with engine.begin() as connection:
                    connection.execute(
                        update(q.reminders)
                        .where(q.reminders.c.id <= due)
                        .values(visible_at=q.reminders.c.next_fire_at, lease_owner=None, lease_token=None)
                    )
            engine.dispose()
        times.sort()
        results.append(
            {
                "backend": backend,
                "rows": size,
                "due": due,
                "seed_s": seeded,
                "claim_s": times[len(times) // 2],
                "plan": plan,
            }
        )
    base = float(results[0]["claim_s"])  # type: ignore[arg-type]
    print(
        table(
            f"\n[{backend}] claiming {due:,} due reminders (batches of {batch}, median of {repeats}) "
            "as the table grows",
            ["stored reminders", "claim ms", "vs smallest", "plan"],
            [
                (
                    f"{r['rows']:,}",
                    f"{float(r['claim_s']) * 1000:.1f}",  # type: ignore[arg-type]
                    f"{float(r['claim_s']) / base:.2f}x",  # type: ignore[arg-type]
                    # The line that says how rows are found: the partial index, at every size.
                    " / ".join(
                        str(line).strip().split("  (cost")[0]
                        for line in r["plan"]  # type: ignore[attr-defined]
                        if "Scan" in str(line) or "SEARCH" in str(line)
                    ),
                )
                for r in results
            ],
        )
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--time-box", type=float, default=10.0, help="seconds per per-row variant")
    parser.add_argument("--backend", choices=["auto", "sqlite", "postgresql", "both"], default="auto")
    parser.add_argument("--scale", default="", help="comma-separated table sizes, e.g. 10000,1000000")
    parser.add_argument("--scale-due", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the --scale figures here")
    args = parser.parse_args()
    if args.scale:
        sizes = [int(x) for x in args.scale.split(",")]
        figures = [
            r
            for b in backends(args.backend)
            for r in scale(b, sizes, args.scale_due, args.batch, args.repeats)
        ]
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(figures, indent=1))
        return
    for backend in backends(args.backend):
        bench(backend, args.rows, args.due, args.batch, args.time_box)


if __name__ == "__main__":
    main()
