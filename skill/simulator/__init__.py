"""The local simulator page: talk to the skill in a browser, without an Echo (verification off only).

    ALEXA_VERIFY_REQUESTS=false make run     # then open http://127.0.0.1:5000/simulator

``GET /simulator`` serves one HTML, one JS and one CSS file (``static/``; no build step, nothing
fetched from elsewhere). For each phrase the page asks ``POST /simulator/turn`` what it resolves to
(``turns.resolve``) and for the envelope Alexa would send, then posts that envelope to ``/alexa``
itself, unsigned, exactly as Alexa would. The envelope's ``apiEndpoint`` points back at this
server, where ``/simulator/api/.../System.timeZone`` answers the Settings API time-zone lookup with
the browser's own zone (carried in the envelope's API token), so reminders work offline.

``skill.create_app`` registers this blueprint only when request verification is off.
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, current_app, jsonify, request

from scheduler.logs import safe
from scheduler.urls import is_loopback_host
from skill.endpoint import EXTENSION
from skill.simulator.turns import LOCALES, Caller, TurnError, envelope, model, resolve

log = logging.getLogger(__name__)

bp = Blueprint("simulator", __name__, static_folder="static", static_url_path="/simulator/static")

# The skill id the envelopes carry when ALEXA_SKILL_ID is not set.
SIMULATOR_SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-00000000a1e0"
TOKEN_PREFIX = "simulator-zone."
_ID_LIMIT = 200


@bp.get("/simulator")
def page() -> Response:
    return bp.send_static_file("simulator.html")


def _zone(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise TurnError("the browser did not say its time zone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise TurnError(f"unknown time zone {value!r}") from None
    return value


def _text(body: dict[str, Any], key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value or len(value) > _ID_LIMIT:
        raise TurnError(f"{key} must be a short text")
    return value


def _api_endpoint() -> str:
    """This server as the skill reaches it: a loopback address, since the skill refuses plain http
    anywhere else (and the time zone must not leave the machine)."""
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    if is_loopback_host(host):
        return f"http://{request.host}/simulator/api"
    return f"http://127.0.0.1:{request.environ.get('SERVER_PORT', '80')}/simulator/api"


@bp.post("/simulator/turn")
def turn() -> Any:
    """Resolve one phrase; answer with what it resolved to and the envelope to post to /alexa."""
    body = request.get_json(silent=True)
    try:
        if not isinstance(body, dict):
            raise TurnError("send a JSON object")
        locale = body.get("locale") or "en-US"
        if locale not in LOCALES:
            raise TurnError(f"locale must be one of {', '.join(LOCALES)}")
        zone = _zone(body.get("timeZone"))
        session = body.get("session") if isinstance(body.get("session"), dict) else None
        elicit = body.get("elicit") if isinstance(body.get("elicit"), dict) else None
        if body.get("launch"):
            resolved = resolve(f"open {model(locale).invocation}", locale)
        else:
            phrase = body.get("phrase")
            if not isinstance(phrase, str) or len(phrase) > 500:
                raise TurnError("type a phrase of at most 500 characters")
            resolved = resolve(phrase, locale, elicit if session else None)
        services = current_app.extensions[EXTENSION]["services"]
        settings = services.settings
        attributes = (
            session.get("attributes") if session and isinstance(session.get("attributes"), dict) else {}
        )
        caller = Caller(
            skill_id=settings.skill_id or SIMULATOR_SKILL_ID,
            user_id=_text(body, "userId"),
            device_id=_text(body, "deviceId"),
            api_endpoint=_api_endpoint(),
            api_token=TOKEN_PREFIX + zone,
            locale=locale,
            notifications=bool(body.get("notifications", True)),
            session_id=_text(session, "id") if session else None,
            session_new=False,
            attributes=attributes,
        )
        # An answer to an elicited slot continues that dialog with the slots the skill kept.
        continuing = (
            elicit is not None
            and session is not None
            and resolved.intent == elicit.get("intent")
            and isinstance(elicit.get("slots"), dict)
        )
        dialog_slots = elicit.get("slots") if continuing and elicit else None
        built = envelope(resolved, caller, services.clock(), dialog_slots)
    except TurnError as exc:
        return jsonify({"error": str(exc)}), 422
    return jsonify({"resolved": resolved.as_json(), "envelope": built})


@bp.get("/simulator/api/v2/devices/<device_id>/settings/System.timeZone")
def time_zone(device_id: str) -> Any:
    """The Settings API stand-in: the zone the page sent, carried in the envelope's API token."""
    if not is_loopback_host(request.remote_addr or ""):
        return jsonify({"error": "the simulator's Settings API answers this machine only"}), 403
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token.startswith(TOKEN_PREFIX):
        return jsonify({"code": "INVALID_ACCESS_TOKEN", "message": "not a simulator token"}), 401
    try:
        zone = _zone(token.removeprefix(TOKEN_PREFIX))
    except TurnError:
        log.warning("simulator time zone lookup for %s: unusable zone", safe(device_id))
        return jsonify({"code": "INVALID_REQUEST", "message": "unknown time zone"}), 400
    return jsonify(zone)
