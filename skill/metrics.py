"""The skill's Prometheus metrics and ``GET /metrics``.

- ``cramp_coach_requests_total{type,intent,status}``: every POST /alexa, by request type, intent
  (IntentRequest only, else ``-``) and HTTP status;
- ``cramp_coach_request_duration_seconds{type,intent}``: how long the answer took, in the view;
- ``cramp_coach_refusals_total{reason}``: requests refused (400/413), by the reason in the answer.

Labels come from untrusted envelopes, so each is held to a known set: request types Alexa sends,
intents the interaction models declare, reasons cut to their fixed part. Anything else is
``other``, so a forged request cannot create new series.

Under gunicorn (several processes) every process writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` (set by ``skill/gunicorn_conf.py``) and /metrics merges them, so a
scrape sees the whole server whichever process answers it. In one process (``cramp-coach serve``
or ``run``) the default registry is read, which in ``run`` also holds the worker's metrics.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
NONE = "-"
OTHER = "other"
# The longest reason label kept; the fixed reasons are all shorter.
REASON_LIMIT = 60

REQUEST_TYPES = frozenset(
    {
        "LaunchRequest",
        "IntentRequest",
        "SessionEndedRequest",
        "CanFulfillIntentRequest",
        "System.ExceptionEncountered",
        "AlexaSkillEvent.SkillEnabled",
        "AlexaSkillEvent.SkillDisabled",
        "AlexaSkillEvent.SkillPermissionAccepted",
        "AlexaSkillEvent.SkillPermissionChanged",
        "AlexaSkillEvent.ProactiveSubscriptionChanged",
        "AlexaSkillEvent.SkillAccountLinked",
        "Messaging.MessageReceived",
    }
)
# Alexa answers within 8 s; past that the user has heard nothing.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)

REQUESTS = Counter(
    "cramp_coach_requests",
    "Requests to POST /alexa by type, intent and HTTP status.",
    ["type", "intent", "status"],
)
LATENCY = Histogram(
    "cramp_coach_request_duration_seconds",
    "Time to answer POST /alexa, by request type and intent.",
    ["type", "intent"],
    buckets=LATENCY_BUCKETS,
)
REFUSALS = Counter("cramp_coach_refusals", "Requests refused with a 400 or 413, by reason.", ["reason"])


@cache
def known_intents() -> frozenset[str]:
    """Every intent the packaged interaction models declare (read once)."""
    names: set[str] = set()
    for entry in resources.files("interaction_models").iterdir():
        if entry.name.endswith(".json"):
            model = json.loads(entry.read_text(encoding="utf-8"))
            names.update(intent["name"] for intent in model["interactionModel"]["languageModel"]["intents"])
    return frozenset(names)


@dataclass
class RequestLabels:
    """What a request was, filled in by the view as it learns it."""

    type: str = "unknown"
    intent: str = NONE

    def read(self, payload: dict[str, Any]) -> None:
        request = payload["request"]
        self.type = request["type"] if request["type"] in REQUEST_TYPES else OTHER
        if self.type == "IntentRequest":
            intent = request.get("intent")
            name = intent.get("name") if isinstance(intent, dict) else None
            self.intent = name if isinstance(name, str) and name in known_intents() else OTHER


# (type, intent, status) -> that request's counter and histogram: the children labels() would
# return, looked up once. Every label is held to a known set, so this stays small.
_CHILDREN: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def record_request(labels: RequestLabels, status: int, started: float) -> None:
    """One counter increment and one histogram observation: cheap enough for every request."""
    key = (labels.type, labels.intent, status)
    children = _CHILDREN.get(key)
    if children is None:
        children = _CHILDREN[key] = (
            REQUESTS.labels(labels.type, labels.intent, str(status)),
            LATENCY.labels(labels.type, labels.intent),
        )
    children[0].inc()
    children[1].observe(time.perf_counter() - started)


def reason_label(reason: str) -> str:
    """The fixed part of a refusal reason: details after a colon (an offset, a parser message) go."""
    head = reason.split(":", 1)[0].strip()
    return head[:REASON_LIMIT] or OTHER


def record_refusal(reason: str) -> None:
    REFUSALS.labels(reason_label(reason)).inc()


def exposition() -> bytes:
    """The metrics in Prometheus' text format: merged across processes when there are several."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # (untyped upstream)
        return bytes(generate_latest(registry))
    return bytes(generate_latest(REGISTRY))


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST)
