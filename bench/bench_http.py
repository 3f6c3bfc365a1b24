"""The endpoint over real HTTP: Cramp Coach against bare Flask and a flask-ask-sdk skill, under gunicorn.

    python bench/bench_http.py [--duration 6] [--connections 1,16,64] [--backend sqlite|postgresql]
    python bench/bench_http.py --tiny          # a few seconds: checks the benchmark still works

Three servers run side by side, each under gunicorn with the same settings (2 sync workers):

* (a) bare Flask that reads the body and returns a canned reply: the ceiling;
* (b) the same kind of skill (launch, and a slot-bearing CausesIntent) through ``flask-ask-sdk``
  with its request verifier, from a throw-away environment (see flask_ask_sdk_env.py);
* (c) Cramp Coach: ``create_app`` with verification on and per-user state on SQLite (or
  PostgreSQL), ``--users`` seeded accounts.

Every request is a distinct envelope signed by the benchmark's own CA (a fresh requestId, a current
timestamp), half LaunchRequest and half CausesIntent, from a random one of ``--users`` users.
Requests are generated per concurrency level just before it runs, so every timestamp is fresh and
no requestId repeats. wrk drives the load (``apt-get install wrk``); without it a Python load
generator does, less precisely. The table gives requests per second at each level and the 99th
percentile latency at 16 connections, then Cramp Coach's ratio to (a) and to (b). It also
reports each server's CPU time per request (user + system, from /proc), and the ratios of
requests per CPU-second, which other work on a shared machine skews far less than the rates.

``--baseline-rev main`` adds (c0), Cramp Coach as it is at that git revision, in the same run, so
that an improvement is a ratio measured side by side rather than against an older run.

Before measuring, each server must answer a signed request with 200 and refuse a tampered one
with 400, so verification is known to be on; afterwards the benchmark checks that Cramp Coach wrote
nothing to the seeded state (no request changed anything).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import alexa_traffic
import flask_ask_sdk_env
import loadgen
from common import database, table
from revisions import export_revision
from sqlalchemy import select

from scheduler.db import make_engine
from scheduler.models import SkillState

HERE = Path(__file__).resolve().parent
SERVERS_DIR = HERE / "servers"
GUNICORN_CONF = """\
workers = 2
worker_class = "sync"
backlog = 2048
timeout = 30
loglevel = "warning"
accesslog = None
"""


@dataclass(frozen=True)
class Server:
    key: str
    label: str
    module: str
    python: str
    source: Path | None = None  # another checkout of the project to import it from


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        # Fields after the command name, which is in parentheses and may hold spaces.
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(master: int) -> float:
    """User and system CPU time of a gunicorn master and its workers, from /proc.

    Time of workers that have exited counts through the master's children totals.
    """
    fields = _stat(master)
    ticks = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                child = _stat(int(entry))
            except OSError:
                continue  # gone meanwhile
            if int(child[1]) == master:  # ppid
                ticks += int(child[11]) + int(child[12])
    return ticks / _TICKS


@dataclass(frozen=True)
class Run:
    """One load-generator run against one server, and the CPU the server used for it."""

    result: loadgen.Result
    cpu_s: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / self.result.requests * 1e6 if self.result.requests else 0.0


@contextmanager
def gunicorn(server: Server, conf: Path, env: dict[str, str], log: Path) -> Iterator[RunningServer]:
    """Starts the server and returns at once; call ``ready()`` before sending it anything."""
    port = free_port()
    command = [
        server.python,
        "-m",
        "gunicorn",
        "-c",
        str(conf),
        "-b",
        f"127.0.0.1:{port}",
        "--pythonpath",
        str(SERVERS_DIR),
        server.module,
    ]
    if server.source is not None:
        # Ahead of the editable install on sys.path, so this server imports the other version.
        env = {**env, "PYTHONPATH": str(server.source)}
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=conf.parent, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield RunningServer(server, f"http://127.0.0.1:{port}/alexa", process, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class RunningServer:
    server: Server
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def key(self) -> str:
        return self.server.key

    @property
    def label(self) -> str:
        return self.server.label

    def ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.label} exited at start:\n{self.log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url.replace("/alexa", "/"), timeout=2)
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer (404 here) means a worker is serving
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{self.label} did not start within 60 s:\n{self.log.read_text()[-3000:]}")


def post(server: RunningServer, signed: alexa_traffic.Signed, cert_url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        server.url, data=signed.body, headers=alexa_traffic.headers(signed, cert_url), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_server(server: RunningServer, samples: Sequence[alexa_traffic.Signed], cert_url: str) -> None:
    """Both kinds of request answered with speech; a tampered body refused: verification is on."""
    for signed in samples:
        status, body = post(server, signed, cert_url)
        if status != 200 or b'"outputSpeech"' not in body:
            raise SystemExit(f"{server.label} answered {status} to a signed request: {body[:300]!r}")
    tampered = alexa_traffic.Signed(samples[0].body.replace(b'"en-US"', b'"en-GB"', 1), samples[0].signature)
    status, _ = post(server, tampered, cert_url)
    if server.key != "a" and status != 400:
        raise SystemExit(f"{server.label} accepted a tampered request ({status}): is verification on?")


def measure(
    server: RunningServer,
    signed: Sequence[alexa_traffic.Signed],
    pool: Path,
    cert_url: str,
    connections: int,
    duration: float,
    use_wrk: bool,
) -> Run:
    before = cpu_seconds(server.process.pid)
    if use_wrk:
        result = loadgen.run_wrk(server.url, pool, cert_url, connections=connections, duration=duration)
    else:
        result = loadgen.run_python(server.url, signed, cert_url, connections=connections, duration=duration)
    return Run(result, cpu_seconds(server.process.pid) - before)


def state_writes(database_url: str, seeded_at: float) -> int:
    """Rows of skill_state written after seeding."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(SkillState.updated_at)).scalars().all()
    engine.dispose()
    return sum(1 for stamp in rows if stamp.timestamp() > seeded_at)


@dataclass(frozen=True)
class Figures:
    """The median over rounds of one server at one level."""

    rate: float
    p99_ms: float
    cpu_us_per_request: float
    rounds: int

    @classmethod
    def of(cls, runs: Sequence[Run]) -> Figures:
        return cls(
            statistics.median(r.result.rate for r in runs),
            statistics.median(r.result.p99_ms for r in runs),
            statistics.median(r.cpu_us_per_request for r in runs),
            len(runs),
        )


def report(servers: Sequence[Server], levels: Sequence[int], results: dict[str, dict[int, Figures]]) -> str:
    p99_level = 16 if 16 in levels else levels[len(levels) // 2]
    header = ["server"]
    for c in levels:
        header.append(f"req/s c={c}")
        if c == p99_level:
            header.append(f"p99 c={c}")
    rows = []
    for server in servers:
        row: list[object] = [server.label]
        for c in levels:
            result = results[server.key][c]
            row.append(f"{result.rate:,.0f}")
            if c == p99_level:
                row.append(f"{result.p99_ms:.1f} ms")
        rows.append(row)
    lines = [table("POST /alexa under gunicorn (2 sync workers), signed requests", header, rows), ""]
    cpu_rows = [
        [server.label, *(f"{results[server.key][c].cpu_us_per_request:,.0f}" for c in levels)]
        for server in servers
    ]
    cpu_header = ["server", *(f"c={c}" for c in levels)]
    lines += [
        table("Server CPU per request, us (user + system, master and workers)", cpu_header, cpu_rows),
        "",
    ]
    others = [("a", "the ceiling (a)"), ("b", "flask-ask-sdk (b)")]
    others += [(s.key, s.label.split(",")[0]) for s in servers if s.key == "c0"]
    for other, name in others:
        ratios = [results["c"][c].rate / results[other][c].rate for c in levels]
        shown = ", ".join(f"c={c}: {r:.2f}x" for c, r in zip(levels, ratios, strict=True))
        lines.append(f"Cramp Coach vs {name}: {shown}")
    lines.append("")
    for other, name in others:
        ratios = [results[other][c].cpu_us_per_request / results["c"][c].cpu_us_per_request for c in levels]
        shown = ", ".join(f"c={c}: {r:.2f}x" for c, r in zip(levels, ratios, strict=True))
        lines.append(f"Requests per CPU-second, Cramp Coach vs {name}: {shown}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per server, level and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--connections", default="1,16,64", help="comma-separated concurrency levels")
    parser.add_argument("--users", type=int, default=2000, help="distinct Alexa users in the traffic")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--pool-rate", type=int, default=6000, help="requests signed per second of a run (above (c)'s rate)"
    )
    parser.add_argument(
        "--baseline-rev", help="also run Cramp Coach at this git revision, e.g. main, as server (c0)"
    )
    parser.add_argument("--env-dir", type=Path, default=flask_ask_sdk_env.DEFAULT_DIR)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--tiny", action="store_true", help="one round of 1 s runs at c=1 and 4 (smoke test)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.duration, args.rounds, args.connections, args.users, args.pool_rate = 1.0, 1, "1,4", 50, 4000
    levels = [int(c) for c in args.connections.split(",")]
    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and loadgen.have_wrk())
    if args.loadgen == "wrk" and not loadgen.have_wrk():
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if not use_wrk:
        print("wrk not found: using the Python load generator (apt-get install wrk for real figures)")

    load_before = os.getloadavg()[0]
    users = alexa_traffic.user_ids(args.users)
    ask_python = str(flask_ask_sdk_env.ensure(args.env_dir))
    servers = [
        Server("a", "(a) bare Flask, canned reply (the ceiling)", "bare_flask_app:app", sys.executable),
        Server("b", "(b) flask-ask-sdk skill with its verifier", "flask_ask_sdk_app:app", ask_python),
        Server("c", f"(c) Cramp Coach, state on {args.backend}", "cramp_coach_app:app", sys.executable),
    ]

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cramp-http-")))
        if args.baseline_rev:
            source = export_revision(args.baseline_rev, tmp / "baseline")
            label = f"(c0) Cramp Coach at {args.baseline_rev}, state on {args.backend}"
            servers.append(Server("c0", label, "cramp_coach_app:app", sys.executable, source))
        runs: dict[str, dict[int, list[Run]]] = {s.key: {c: [] for c in levels} for s in servers}
        database_url = stack.enter_context(database(args.backend))
        alexa_traffic.seed_users(database_url, users)
        seeded_at = time.time()
        pki = alexa_traffic.pki_files.load(alexa_traffic.write_pki(tmp / "pki"))
        conf = tmp / "gunicorn.conf.py"
        conf.write_text(GUNICORN_CONF)
        env = {
            **os.environ,
            alexa_traffic.pki_files.ENV: str(tmp / "pki"),
            "DATABASE_URL": database_url,
            "PYTHONUNBUFFERED": "1",
        }
        running = [stack.enter_context(gunicorn(s, conf, env, tmp / f"{s.key}.log")) for s in servers]
        for server in running:  # started together, so their start-ups overlap
            server.ready()

        samples = alexa_traffic.signed_requests(4, users)
        for server in running:
            check_server(server, samples, pki.cert_url)
        # Warm every worker (imports, caches, the validated chain, the database's pages).
        warm = alexa_traffic.signed_requests(10 if args.tiny else 400, users)
        for server in running:
            for signed in warm:
                post(server, signed, pki.cert_url)
        turn = 0
        for round_no in range(args.rounds):
            for connections in levels:
                # Signed just before use: timestamps stay fresh, and each server sees each body once.
                count = int(args.pool_rate * args.duration * 1.1) + 100
                signed = alexa_traffic.signed_requests(count, users)
                pool = loadgen.write_pool(tmp / "pool.txt", signed)
                shift = turn % len(running)
                order = running[shift:] + running[:shift]  # rotate, so drift hits all alike
                turn += 1
                for server in order:
                    run = measure(server, signed, pool, pki.cert_url, connections, args.duration, use_wrk)
                    runs[server.key][connections].append(run)
                    result = run.result
                    print(
                        f"  round {round_no + 1} {server.key} c={connections}: {result.rate:,.0f} req/s, "
                        f"p99 {result.p99_ms:.1f} ms, {run.cpu_us_per_request:,.0f} us CPU each"
                        + (f", {result.status_errors} refused" if result.status_errors else "")
                        + (f", {result.socket_errors} socket errors" if result.socket_errors else "")
                        + (f", pool ran out {result.wrapped}x" if result.wrapped else ""),
                        flush=True,
                    )
        writes = state_writes(database_url, seeded_at)
    results = {key: {c: Figures.of(r) for c, r in per_level.items()} for key, per_level in runs.items()}

    print()
    print(report(servers, levels, results))
    print(
        f"Median of {args.rounds} round(s) of {args.duration:g} s per server and level; "
        f"{args.users} users; load generator: {'wrk' if use_wrk else 'Python fallback'}."
    )
    # Other work on the machine skews absolute rates (less so the ratios); say how busy it was.
    print(
        f"Load average (1 min) before the run {load_before:.2f}, after {os.getloadavg()[0]:.2f}, "
        f"on {os.cpu_count()} cores."
    )
    print(f"Cramp Coach state rows written during the run: {writes} (every request changed nothing)")
    problems = [
        f"{s.key} c={c}: {r.status_errors} refused, {r.socket_errors} socket errors, {r.requests} answered"
        for s in servers
        for c, per_round in runs[s.key].items()
        for r in (run.result for run in per_round)
        if r.status_errors or r.socket_errors or not r.requests
    ]
    if writes:
        problems.append(f"Cramp Coach wrote {writes} state rows although no request changed anything")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "loadgen": "wrk" if use_wrk else "python",
                    "backend": args.backend,
                    "users": args.users,
                    "duration_s": args.duration,
                    "servers": {s.key: s.label for s in servers},
                    "median": {k: {c: asdict(f) for c, f in v.items()} for k, v in results.items()},
                    "runs": {
                        k: {c: [{**asdict(r.result), "cpu_s": r.cpu_s} for r in rs] for c, rs in v.items()}
                        for k, v in runs.items()
                    },
                    "state_writes": writes,
                    "load_average": [load_before, os.getloadavg()[0]],
                    "problems": problems,
                },
                indent=2,
            )
        )
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
