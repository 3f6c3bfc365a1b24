"""The /alexa view (size limit -> parse -> verify -> invoke -> respond) and /healthz."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from ask_sdk_core.skill import CustomSkill
from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from skill.errors import EventNotStored
from skill.serializer import EnvelopeSerializer
from skill.services import SkillServices
from skill.verification import RequestVerifier, VerificationError, check_skill_id, check_timestamp

log = logging.getLogger(__name__)

bp = Blueprint("alexa", __name__)

EXTENSION = "cramp_coach"


def _bad_request(reason: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": reason}), status


def _services() -> SkillServices:
    services: SkillServices = current_app.extensions[EXTENSION]["services"]
    return services


@bp.post("/alexa")
def alexa() -> Any:
    ext = current_app.extensions[EXTENSION]
    services: SkillServices = ext["services"]
    skill: CustomSkill = ext["skill"]
    verifier: RequestVerifier | None = ext["verifier"]

    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        log.warning("refused request: body over %d bytes", services.settings.max_body_bytes)
        return _bad_request("request body too large", 413)

    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        log.warning("refused request: body is not JSON")
        return _bad_request("body is not valid JSON")
    problem = _shape_problem(payload)
    if problem:
        log.warning("refused request: %s", problem)
        return _bad_request(problem)

    try:
        if verifier is not None:
            verifier.verify(request.headers, body, payload)
        else:
            # Signature checks are off for local simulators; the cheap checks still apply.
            check_timestamp(payload, services.clock())
            check_skill_id(payload, services.settings.skill_id)
    except VerificationError as exc:
        log.warning("refused request %s: %s", _request_id(payload), exc.reason)
        return _bad_request(exc.reason)

    try:
        envelope = cast(EnvelopeSerializer, skill.serializer).envelope(payload)
    except Exception as exc:  # the SDK raises several types for a body it cannot map
        log.warning("refused request %s: cannot deserialize: %s", _request_id(payload), exc)
        return _bad_request("request envelope could not be read")

    # Handler errors are turned into a spoken apology by the skill's exception handler; this guard
    # catches what happens outside handlers (interceptors, serialisation) so Alexa never gets a 500.
    try:
        response_envelope = skill.invoke(request_envelope=envelope, context=None)
        serialized = skill.serializer.serialize(response_envelope)
    except EventNotStored as exc:
        # Not a bad request: our storage failed. Alexa redelivers events that get an error.
        log.error("event %s not stored, asking Alexa to redeliver: %s", _request_id(payload), exc)
        return jsonify({"error": "event not stored, please retry"}), 503
    except Exception:
        log.exception("skill failed outside its handlers for request %s", _request_id(payload))
        return jsonify(_apology_envelope()), 200
    return jsonify(serialized)


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
    return None


def _request_id(payload: Any) -> str:
    try:
        return str(payload["request"]["requestId"])
    except (KeyError, TypeError):
        return "<unknown>"


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
