"""The ``cramp-coach`` command: serve the skill, run the reminders worker, migrate the database."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import click

from scheduler.db import DEFAULT_DATABASE_URL
from scheduler.log_setup import configure_logging


@click.group()
def main() -> None:
    """Cramp Coach: an Alexa skill for nighttime leg cramps, and its reminders worker."""
    try:
        configure_logging()
    except ValueError as exc:  # e.g. LOG_LEVEL=loud
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Start the skill server (POST /alexa, GET /healthz)."""
    _serve(host, port)


def _serve(host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    from skill import create_app

    try:
        app = create_app()
    except ValueError as exc:  # a bad setting, e.g. ALEXA_VERIFY_REQUESTS=maybe
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Cramp Coach skill listening on http://{host}:{port}/alexa", err=True)
    run_simple(host, port, app, threaded=True, use_reloader=False)


@main.group()
def db() -> None:
    """Database commands."""


@db.command()
def upgrade() -> None:
    """Apply the Alembic migrations to DATABASE_URL."""
    from scheduler.migrate import upgrade as alembic_upgrade

    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    alembic_upgrade(url)
    click.echo(f"database is up to date ({_redact(url)})", err=True)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    from scheduler.db import normalise_url

    return make_url(normalise_url(url)).render_as_string(hide_password=True)


@main.command("skill-package")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--endpoint", required=True, metavar="URL", help="The public https URL Alexa posts to, ending in /alexa."
)
@click.option(
    "--certificate",
    type=click.Choice(["Trusted", "Wildcard", "SelfSigned"]),
    default="Trusted",
    show_default=True,
    help="The kind of TLS certificate the endpoint presents.",
)
def skill_package(out: Path, endpoint: str, certificate: str) -> None:
    """Write the ASK CLI project for ENDPOINT into OUT (then: cd OUT && ask deploy)."""
    from skill.publishing.skill_package import write_skill_package

    try:
        written = write_skill_package(out, endpoint, certificate)
    except ValueError as exc:  # a bad endpoint, or listing and models that disagree
        raise click.ClickException(str(exc)) from exc
    for path in written:
        click.echo(str(path))
    click.echo(f"next: cd {out} && ask deploy", err=True)


@main.group(invoke_without_command=True)
@click.option("--once", is_flag=True, help="Run a single dispatch tick and exit.")
@click.pass_context
def worker(ctx: click.Context, once: bool) -> None:
    """Run the reminders worker: claims due reminders and delivers them."""
    if ctx.invoked_subcommand is not None:
        return
    from scheduler.worker import run_worker

    obj = ctx.obj or {}
    code = run_worker(dict(os.environ), once=once, clock=obj.get("clock"), channel=obj.get("channel"))
    sys.exit(code)


@worker.command()
@click.option(
    "--max-age",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Allowed age of the last beat (default: what the worker wrote, from its tick and lease).",
)
def health(max_age: float | None) -> None:
    """Exit 0 when the worker's heartbeat (WORKER_HEARTBEAT_FILE) is fresh, 1 when stale or missing."""
    from scheduler import heartbeat
    from scheduler.db import utcnow

    found = heartbeat.check(heartbeat.heartbeat_path(os.environ), utcnow(), max_age)
    click.echo(found.message, err=not found.ok)
    sys.exit(0 if found.ok else 1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
def run(host: str, port: int) -> None:
    """Start the skill server and the worker together in one process (for development)."""
    from scheduler.worker import start_background_worker

    try:
        scheduler = start_background_worker(dict(os.environ))
    except ValueError as exc:  # a bad WORKER_* or channel setting
        raise click.ClickException(str(exc)) from exc
    try:
        _serve(host, port)
    finally:
        # Let a tick in progress finish so no claim is left to its lease.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}).start()


@main.group()
def reminders() -> None:
    """Look at the reminders in DATABASE_URL (read only)."""


def _report_session() -> Any:
    from scheduler.db import make_engine, make_session_factory

    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    return make_session_factory(make_engine(url))()


@reminders.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def stats(as_json: bool) -> None:
    """Users, reminders by kind and state, what is due, and the last 24 hours' deliveries."""
    from scheduler.db import utcnow
    from scheduler.reports import stats as reminder_stats

    with _report_session() as session:
        found = reminder_stats(session, utcnow())
    if as_json:
        click.echo(json.dumps(found.as_json(), indent=2, sort_keys=True))
        return
    click.echo(f"reminders at {found.now:%Y-%m-%d %H:%M} UTC")
    click.echo(
        f"users           {found.users} ({found.users_can_deliver} can receive notifications, "
        f"{found.users_blocked} blocked); {found.skill_states} with skill state"
    )
    for kind, states in sorted(found.reminders.items()) or [("(none)", {})]:
        counts = "  ".join(f"{state} {count}" for state, count in states.items())
        click.echo(f"reminders       {kind:<8} {counts}".rstrip())
    click.echo(
        f"due now         {found.due_now} (the oldest {found.oldest_due_seconds:.0f} s late); "
        f"{found.claimed_now} held by a worker"
    )
    click.echo(f"next 24 hours   {found.next_24h}")
    last = ", ".join(f"{status} {count}" for status, count in sorted(found.deliveries_24h.items()))
    click.echo(f"last 24 hours   {last or 'nothing delivered'}")


@reminders.command()
@click.argument("user_hash", metavar="USER_HASH")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def show(user_hash: str, as_json: bool) -> None:
    """One user's reminders and last deliveries; USER_HASH is the u-… name in the log lines."""
    from scheduler.db import utcnow
    from scheduler.logs import safe
    from scheduler.reports import USER_REF, user_report

    ref = user_hash.strip().lower()
    if not USER_REF.fullmatch(ref):
        raise click.BadParameter(
            "a user hash is u- and 12 hex digits, as in the logs", param_hint="USER_HASH"
        )
    with _report_session() as session:
        report = user_report(session, ref, utcnow())
    if report is None:
        raise click.ClickException(f"no user with hash {ref} has reminders (a user who only asked has none)")
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2, sort_keys=True))
        return
    click.echo(
        f"user {report.ref} (id {report.user_id}), {report.locale}, time zone {report.time_zone or 'unknown'}"
    )
    allowed = "allowed" if report.notifications_allowed else "not allowed"
    subscribed = "subscribed" if report.subscribed else "unsubscribed"
    blocked = f", blocked: {safe(report.blocked_reason)}" if report.blocked_reason else ""
    click.echo(f"notifications {allowed}, {subscribed}{blocked}; since {report.created_utc}")
    click.echo("reminders:" if report.reminders else "reminders: none")
    for line in report.reminders:
        lease = f", held by {line.leased_by}" if line.leased_by else ""
        click.echo(
            f"  #{line.id} {line.kind} at {line.local_time:%H:%M} {line.days} ({line.time_zone}), "
            f"{line.state}: next {line.next_local} = {line.next_utc}{lease}"
        )
    click.echo("last deliveries:" if report.deliveries else "last deliveries: none")
    for done in report.deliveries:
        detail = f" ({safe(done.detail)})" if done.detail else ""
        click.echo(
            f"  {done.occurrence_utc} {done.kind}: {done.status} via {done.channel}, "
            f"{done.attempts} attempt(s){detail}"
        )


if __name__ == "__main__":
    main()
