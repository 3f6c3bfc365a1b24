"""What a spoken (device) reminder costs against a notification, measured in the same run.

    python bench/bench_placement.py            # 5,000 reminders per backend
    python bench/bench_placement.py --tiny     # 200, in seconds (what the test runs)

For N reminders due at one instant, on a fresh database each time:

- baseline: N notifications. The worker claims them at their time and posts N Proactive Events.
- device: the same N for users who granted the reminders permission. The worker claims them
  twelve hours early and sends N Skill Messages (the placement requests); then, once the skill has
  placed them, claims them again at their time and finds each placed (no HTTP at all).
- the skill's side: M of those messages (at most 500) through the real endpoint, in process, each
  creating a device reminder at the stub; the baseline is M LaunchRequests for the same users.

The stub Alexa API runs in its own process (aiohttp, no added delay), so its CPU is not counted.
Worker figures are the dispatcher's wall time and CPU per occurrence; the skill's, wall time per
request (the Reminders API round trip included). Nothing is lost: every run checks each
occurrence ended placed or sent, once.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from bench_dispatch import stub_process
from common import ROOT, backends, database, seed_due_at, table
from sqlalchemy import func, select, update

from scheduler import queries as q
from scheduler.channels import AlexaChannel, SkillMessagingChannel, reference_id_for
from scheduler.channels.alexa import placement_message
from scheduler.channels.base import PlacementRequest
from scheduler.config import WorkerSettings
from scheduler.db import make_engine, make_session_factory
from scheduler.dispatch import Dispatcher, TickStats
from scheduler.models import Delivery, User
from scheduler.placements import PLACE_MARGIN
from tests.envelopes import Envelopes
from tests.stubs.alexa_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

LEAD = timedelta(hours=12)
# Tomorrow: the stub (its own process, the real clock) refuses a device reminder in the past.
DUE = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def env(url: str, database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "ALEXA_CLIENT_ID": DEFAULT_CLIENT_ID,
        "ALEXA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "ALEXA_API_ENDPOINT": url,
        "LWA_TOKEN_URL": url + "/auth/o2/token",
    }


def run_ticks(database_url: str, url: str, clock: Clock, *, device: bool) -> tuple[TickStats, float, float]:
    """Tick until nothing is due; the dispatcher's wall time and CPU, its channels built from env."""
    settings = WorkerSettings(
        database_url=database_url, batch_size=1000, concurrency=256, placement_lead=LEAD
    )
    channel = AlexaChannel.from_env(env(url, database_url), utcnow=clock)
    messenger = SkillMessagingChannel.from_env(env(url, database_url), utcnow=clock) if device else None
    engine = make_engine(database_url)
    dispatcher = Dispatcher(
        make_session_factory(engine),
        channel,
        settings,
        clock=clock,
        worker_id="bench:1:placement",
        rng=random.Random(1),
        messenger=messenger,
    )
    total = TickStats()
    started, cpu = time.perf_counter(), time.process_time()
    while True:
        stats = dispatcher.tick()
        total.add(stats)
        if not stats.claimed:
            break
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    channel.close()
    if messenger is not None:
        messenger.close()
    engine.dispose()
    return total, wall, used


def seed(database_url: str, n: int, *, device: bool, backend: str) -> None:
    engine = make_engine(database_url)
    # Users distinct per run: the stub (one process for every run) answers 409 to a referenceId it
    # already took for the same user.
    seed_due_at(engine, rows=n, due=n, due_at=DUE, tag=("PLACE" if device else "NOTE") + backend[:2].upper())
    if device:
        with engine.begin() as connection:
            connection.execute(update(q.users).values(reminders_allowed=True))
            connection.execute(update(q.reminders).values(visible_at=DUE - LEAD))
    engine.dispose()


def statuses(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    engine.dispose()
    return {status: count for status, count in rows}


def skill_side(database_url: str, url: str, clock: Clock, m: int) -> dict[str, Any]:
    """M placement messages through the endpoint against M LaunchRequests, same users, in process."""
    from skill import create_app

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "ALEXA_VERIFY_REQUESTS": "false",
            "ALEXA_SKILL_ID": Envelopes.SKILL_ID,
            "CLOCK": clock,
        }
    )
    client = app.test_client()
    envelopes = Envelopes(clock)
    envelopes.api_endpoint = url
    engine = make_engine(database_url)
    with engine.connect() as connection:
        users = connection.execute(
            select(User.alexa_user_id, q.reminders.c.id).join(q.reminders).limit(m)
        ).all()
    engine.dispose()
    with httpx.Client(timeout=30) as http:
        tokens = [
            http.post(f"{url}/_stub/users/{user}/api-token").json()["apiAccessToken"] for user, _ in users
        ]
    messages = []
    for (user, rid), token in zip(users, tokens, strict=True):
        request = PlacementRequest(rid, user, DUE, reference_id_for(rid, DUE), DUE - PLACE_MARGIN)
        envelopes.api_access_token = token
        body = envelopes.envelope(
            {"type": "Messaging.MessageReceived", "message": placement_message(request, clock.now)["data"]},
            with_session=False,
            user_id=user,
        )
        messages.append(body)
    launches, warm = [], []
    for (user, _), token in zip(users, tokens, strict=True):
        envelopes.api_access_token = token
        launches.append(envelopes.launch(user_id=user, new=True))
        if len(warm) < 10:
            warm.append(envelopes.launch(user_id=user, new=True))

    def post_all(bodies: list[dict[str, Any]]) -> float:
        started = time.perf_counter()
        for body in bodies:
            reply = client.post("/alexa", data=json.dumps(body), content_type="application/json")
            assert reply.status_code == 200, reply.get_data(as_text=True)
        return time.perf_counter() - started

    post_all(warm)  # first requests load content and the SDK's models
    launch_s = post_all(launches)
    place_s = post_all(messages)
    return {"m": len(messages), "launch_ms": 1000 * launch_s / m, "place_ms": 1000 * place_s / m}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=5_000, help="reminders due at one instant")
    parser.add_argument("--backend", default="auto", choices=["auto", "sqlite", "postgresql", "both"])
    parser.add_argument("--tiny", action="store_true", help="200 reminders: checks it runs")
    parser.add_argument("--out", default=None, help="write the figures as JSON into this folder")
    args = parser.parse_args(argv)
    n = 200 if args.tiny else args.n
    m = min(n, 500)
    runs: list[dict[str, Any]] = []
    with stub_process(0.0) as url:
        for backend in backends(args.backend):
            with database(backend) as notice_db:
                seed(notice_db, n, device=False, backend=backend)
                notices, notice_wall, notice_cpu = run_ticks(
                    notice_db, url, Clock(DUE + timedelta(seconds=1)), device=False
                )
                notice_statuses = statuses(notice_db)
            with database(backend) as device_db:
                seed(device_db, n, device=True, backend=backend)
                clock = Clock(DUE - LEAD + timedelta(seconds=1))
                placed, place_wall, place_cpu = run_ticks(device_db, url, clock, device=True)
                skill = skill_side(device_db, url, Clock(DUE - LEAD + timedelta(minutes=1)), m)
                engine = make_engine(device_db)
                with engine.begin() as connection:  # the rest, as the skill would have placed them
                    connection.execute(
                        update(q.deliveries)
                        .where(q.deliveries.c.status == q.MESSAGED)
                        .values(status=q.PLACED)
                    )
                engine.dispose()
                confirmed, confirm_wall, confirm_cpu = run_ticks(
                    device_db, url, Clock(DUE + timedelta(seconds=1)), device=True
                )
                device_statuses = statuses(device_db)
            if notice_statuses != {"sent": n} or device_statuses != {"placed": n}:
                raise SystemExit(f"lost or doubled: notices {notice_statuses}, device {device_statuses}")
            if (notices.sent, placed.messaged, confirmed.placed) != (n, n, n):
                raise SystemExit(f"counts: {notices.summary()} / {placed.summary()} / {confirmed.summary()}")
            device_cpu = place_cpu + confirm_cpu
            runs.append(
                {
                    "backend": backend,
                    "n": n,
                    "notice": {"wall_s": notice_wall, "cpu_us_each": 1e6 * notice_cpu / n},
                    "place": {"wall_s": place_wall, "cpu_us_each": 1e6 * place_cpu / n},
                    "confirm": {"wall_s": confirm_wall, "cpu_us_each": 1e6 * confirm_cpu / n},
                    "device_cpu_vs_notice": device_cpu / notice_cpu,
                    "place_wall_vs_notice": place_wall / notice_wall,
                    "skill": {**skill, "vs_launch": skill["place_ms"] / skill["launch_ms"]},
                }
            )
    rows = []
    for run in runs:
        rows.append(
            [
                run["backend"],
                "notifications (baseline)",
                f"{run['notice']['wall_s']:.2f}",
                f"{run['notice']['cpu_us_each']:.0f}",
                "1.00x",
            ]
        )
        rows.append(
            [
                run["backend"],
                "placement messages",
                f"{run['place']['wall_s']:.2f}",
                f"{run['place']['cpu_us_each']:.0f}",
                f"{run['place']['cpu_us_each'] / run['notice']['cpu_us_each']:.2f}x",
            ]
        )
        rows.append(
            [
                run["backend"],
                "fire-time look (placed)",
                f"{run['confirm']['wall_s']:.2f}",
                f"{run['confirm']['cpu_us_each']:.0f}",
                f"{run['confirm']['cpu_us_each'] / run['notice']['cpu_us_each']:.2f}x",
            ]
        )
        rows.append(
            [
                run["backend"],
                "device, both claims",
                "",
                f"{run['place']['cpu_us_each'] + run['confirm']['cpu_us_each']:.0f}",
                f"{run['device_cpu_vs_notice']:.2f}x",
            ]
        )
    print(
        table(
            f"worker: {n:,} reminders due at one instant",
            ["backend", "variant", "wall s", "CPU µs each", "CPU vs baseline"],
            rows,
        )
    )
    skill_rows = [
        [
            r["backend"],
            f"{r['skill']['launch_ms']:.2f}",
            f"{r['skill']['place_ms']:.2f}",
            f"{r['skill']['vs_launch']:.2f}x",
        ]
        for r in runs
    ]
    print(
        table(
            f"skill: {m} requests in process",
            ["backend", "LaunchRequest ms", "placement ms", "vs launch"],
            skill_rows,
        )
    )
    report = {"runs": runs}
    if args.out:
        (__import__("pathlib").Path(args.out) / "placement.json").write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
