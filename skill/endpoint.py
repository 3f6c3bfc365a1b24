"""The /alexa view (size limit -> parse -> verify -> replay check -> invoke -> respond) and /healthz.

Every way a request can fail has one answer and one log line: a 400 (413 for size) with a short
fixed reason for anything malformed, forged, stale or replayed; a 503 only when a skill event could
not be stored; never a 500, and never speech where Alexa expects silence.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, cast

from ask_sdk_core.skill import CustomSkill
from flask import Blueprint, Response, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from scheduler.logs import safe
from skill import json_body, metrics
from skill.errors import EventNotStored, EventRefused, describe, stack
from skill.handlers.events import event_problem
from skill.replay import ReplayGuard
from skill.request_context import bind_user
from skill.request_kinds import is_event, may_speak
from skill.serializer import EnvelopeSerializer
from skill.services import SkillServices
from skill.verification import (
    RequestVerifier,
    VerificationError,
    check_skill_id,
    check_timestamp,
    environ_headers,
    tolerance_s,
)

log = logging.getLogger(__name__)

bp = Blueprint("alexa", __name__)

EXTENSION = "cramp_coach"
UNKNOWN_ID = "<unknown>"
# Alexa's own empty answer: no speech, nothing to render (events, CanFulfill errors, SessionEnded...).
SILENT_ENVELOPE: dict[str, Any] = {"version": "1.0", "response": {}}

# jsonify's own output (sorted keys, ASCII, compact, a trailing newline) from one encoder built
# once: jsonify builds a new encoder for every answer.
_ENCODER = json.JSONEncoder(
    ensure_ascii=DefaultJSONProvider.ensure_ascii,
    sort_keys=DefaultJSONProvider.sort_keys,
    separators=(",", ":"),
    default=DefaultJSONProvider.default,
)


def json_response(obj: Any) -> Response:
    """What ``jsonify(obj)`` answers, byte for byte."""
    app = current_app
    if app.debug:  # jsonify indents in debug mode
        return jsonify(obj)
    response: Response = app.response_class(f"{_ENCODER.encode(obj)}\n", mimetype="application/json")
    return response


def _refuse(
    reason: str, request_id: str = UNKNOWN_ID, status: int = 400, detail: str = ""
) -> tuple[Response, int]:
    """The client gets ``reason`` (fixed words); the log line adds ``detail`` for the operator."""
    log.warning("refused request %s: %s%s", safe(request_id), safe(reason), f" ({detail})" if detail else "")
    metrics.record_refusal(reason)
    return json_response({"error": reason}), status


def _services() -> SkillServices:
    services: SkillServices = current_app.extensions[EXTENSION]["services"]
    return services


def read_body(limit: int) -> bytes | None:
    """The request body, or None when it is over ``limit`` bytes.

    The app's MAX_CONTENT_LENGTH is one byte past the limit: Werkzeug refuses a longer declared
    Content-Length itself, but stops reading a chunked body at MAX_CONTENT_LENGTH without an error,
    so the one extra byte is what shows that a chunked body was too long.
    """
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return None
    return None if len(body) > limit else body


@bp.post("/alexa")
def alexa() -> Any:
    started = time.perf_counter()
    labels = metrics.RequestLabels()
    answer = _answer(labels)
    metrics.record_request(labels, answer[1] if isinstance(answer, tuple) else answer.status_code, started)
    return answer


def _answer(labels: metrics.RequestLabels) -> Response | tuple[Response, int]:
    ext = current_app.extensions[EXTENSION]
    services: SkillServices = ext["services"]
    skill: CustomSkill = ext["skill"]
    verifier: RequestVerifier | None = ext["verifier"]
    replays: ReplayGuard = ext["replays"]

    body = read_body(services.settings.max_body_bytes)
    if body is None:
        return _refuse(f"request body too large (over {services.settings.max_body_bytes} bytes)", status=413)
    try:
        payload = json_body.parse(body)
    except json_body.BodyError as exc:
        return _refuse(exc.reason)
    bind_user(payload)
    problem = _shape_problem(payload)
    if problem:
        return _refuse(problem, _request_id(payload))
    labels.read(payload)
    request_id: str = payload["request"]["requestId"]
    request_type: str = payload["request"]["type"]

    now = services.clock()
    try:
        if verifier is not None:
            verifier.verify(environ_headers(request.environ), body, payload)
        else:
            # Signature checks are off for local simulators; the cheap checks still apply.
            check_timestamp(payload, now)
            check_skill_id(payload, services.settings.skill_id)
    except VerificationError as exc:
        return _refuse(exc.reason, request_id)
    if not replays.claim(request_id, now, tolerance_s(request_type)):
        return _refuse("request already received", request_id)

    try:
        envelope = cast(EnvelopeSerializer, skill.serializer).envelope(payload)
    except Exception as exc:  # the SDK raises several types for a body it cannot map
        # Its messages quote the whole body, access token included: only the class is logged.
        return _refuse("request envelope could not be read", request_id, detail=describe(exc, excerpt=False))

    # Handler errors become a spoken apology (or silence) in the skill's exception handlers; this
    # guard catches what happens outside them (interceptors, serialisation), so Alexa never gets a 500.
    try:
        response_envelope = skill.invoke(request_envelope=envelope, context=None)
        serialized = skill.serializer.serialize(response_envelope)
    except EventNotStored as exc:
        # Not a bad request: our storage failed. Alexa redelivers events that get an error, and the
        # redelivery must not be taken for a replay.
        replays.release(request_id)
        log.error("event %s not stored, asking Alexa to redeliver: %s", safe(request_id), exc)
        return json_response({"error": "event not stored, please retry"}), 503
    except EventRefused as exc:
        return _refuse(exc.reason, request_id)
    except Exception as exc:
        log.error(
            "skill failed outside its handlers for request %s: %s\n%s",
            safe(request_id),
            describe(exc),
            stack(exc),
        )
        if is_event(request_type):
            return _refuse("event could not be processed", request_id)
        if not may_speak(request_type, isinstance(payload.get("session"), dict)):
            return json_response(SILENT_ENVELOPE), 200
        return json_response(_apology_envelope()), 200
    return json_response(serialized)


def _shape_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "request body must be a JSON object"
    req = payload.get("request")
    if not isinstance(req, dict):
        return "request envelope has no request object"
    for key in ("type", "requestId", "timestamp"):
        if not isinstance(req.get(key), str) or not req.get(key):
            return f"request envelope has no request.{key}"
    if not isinstance(payload.get("version"), str):
        return "request envelope has no version"
    # Alexa sends context.System with every request; the SDK reads it before any handler runs.
    context = payload.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("System"), dict):
        return "request envelope has no context.System object"
    if "session" in payload and not isinstance(payload["session"], dict | None):
        return "request envelope session is not an object"
    if is_event(req["type"]):
        return event_problem(payload)
    return None


def _request_id(payload: Any) -> str:
    try:
        return str(payload["request"]["requestId"])
    except (KeyError, TypeError):
        return UNKNOWN_ID


def _apology_envelope() -> dict[str, Any]:
    from skill import content

    words = content.for_locale(None)
    return {
        "version": "1.0",
        "response": {
            "outputSpeech": {"type": "SSML", "ssml": f"<speak>{words.say('prompts.error')}</speak>"},
            "shouldEndSession": True,
        },
    }


@bp.get("/healthz")
def healthz() -> Any:
    services = _services()
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("health check: database unreachable: %s", exc.__class__.__name__)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": "ok"})
