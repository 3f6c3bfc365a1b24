"""The ``cramp-coach`` command: serve the skill, run the reminders worker, migrate the database."""

from __future__ import annotations

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


@main.command()
@click.option("--once", is_flag=True, help="Run a single dispatch tick and exit.")
@click.pass_obj
def worker(obj: dict[str, Any] | None, once: bool) -> None:
    """Run the reminders worker: claims due reminders and delivers them."""
    from scheduler.worker import run_worker

    obj = obj or {}
    code = run_worker(dict(os.environ), once=once, clock=obj.get("clock"), channel=obj.get("channel"))
    sys.exit(code)


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


if __name__ == "__main__":
    main()
