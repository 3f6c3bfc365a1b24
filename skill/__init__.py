"""Cramp Coach, the voice skill: a Flask app that hosts the Alexa custom-skill endpoint."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import Flask

from scheduler import ReminderService
from scheduler.db import make_engine, make_session_factory, utcnow
from scheduler.placements import Placements
from skill.config import Settings

log = logging.getLogger(__name__)

# test_config keys that carry objects rather than environment strings.
_OBJECT_KEYS = {"CLOCK", "VERIFIER_ROOTS", "CERT_FETCH", "REMINDER_SERVICE"}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. Configuration comes from the environment; ``test_config`` overrides it."""
    from skill import request_context
    from skill.builder import build_skill
    from skill.endpoint import EXTENSION, bp
    from skill.metrics import bp as metrics_bp
    from skill.publishing.pages import bp as publishing_pages
    from skill.replay import ReplayGuard
    from skill.services import SkillServices
    from skill.verification import RequestVerifier

    overrides = dict(test_config or {})
    env = dict(os.environ)
    env.update({k: str(v) for k, v in overrides.items() if k not in _OBJECT_KEYS})
    settings = Settings.from_env(env)
    clock: Callable[[], datetime] = overrides.get("CLOCK", utcnow)

    app = Flask(__name__)
    # One byte past the limit: see skill.endpoint.read_body for why.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.config["TESTING"] = bool(overrides.get("TESTING", False))

    # No ping on every checkout (a round trip per request on PostgreSQL): each request's first
    # statement is the state read, which retries once on a connection the database had closed.
    engine = make_engine(settings.database_url, timeouts=settings.database_timeouts, pool_pre_ping=False)
    sessions = make_session_factory(engine)
    reminders = overrides.get("REMINDER_SERVICE") or ReminderService(
        sessions, clock=clock, placement_lead=settings.placement_lead
    )
    services = SkillServices(settings, engine, sessions, reminders, clock, Placements(sessions, clock))

    verifier: RequestVerifier | None = None
    if settings.verify_requests:
        verifier = RequestVerifier(
            skill_id=settings.skill_id,
            roots=overrides.get("VERIFIER_ROOTS"),
            fetch=overrides.get("CERT_FETCH"),
            clock=clock,
        )
    else:
        log.warning(
            "ALEXA_VERIFY_REQUESTS=false: signature and certificate checks are OFF. "
            "Use this only with a local simulator, never on the internet."
        )
    if settings.skill_id is None:
        log.warning("ALEXA_SKILL_ID is not set: requests for any skill id are accepted")

    app.extensions[EXTENSION] = {
        "services": services,
        "skill": build_skill(services),
        "verifier": verifier,
        "replays": ReplayGuard(settings.replay_cache_size),
    }
    app.register_blueprint(bp)
    app.register_blueprint(publishing_pages)
    app.register_blueprint(metrics_bp)
    if not settings.verify_requests:
        # The page posts unsigned envelopes to /alexa: it can only work with verification off.
        from skill.simulator import bp as simulator_bp

        app.register_blueprint(simulator_bp)
    request_context.init_app(app)
    _register_errors(app)
    return app


def _register_errors(app: Flask) -> None:
    from flask import jsonify
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        # JSON errors everywhere: Alexa and operators both read these.
        return jsonify({"error": exc.description or exc.name}), exc.code or 500
