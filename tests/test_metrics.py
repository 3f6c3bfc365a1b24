"""The skill's /metrics: requests by type and intent with their latency, refusals by reason; merged
across gunicorn's worker processes."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from skill.metrics import known_intents, reason_label
from tests.envelopes import Envelopes
from tests.test_gunicorn import running_gunicorn, wait_for


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_counted_by_type_intent_and_status(client: FlaskClient, envelopes: Envelopes) -> None:
    launch = {"type": "LaunchRequest", "intent": "-", "status": "200"}
    help_ = {"type": "IntentRequest", "intent": "AMAZON.HelpIntent", "status": "200"}
    before = (sample("cramp_coach_requests_total", **launch), sample("cramp_coach_requests_total", **help_))
    timed = sample(
        "cramp_coach_request_duration_seconds_count", type="IntentRequest", intent="AMAZON.HelpIntent"
    )

    assert client.post("/alexa", json=envelopes.launch()).status_code == 200
    for _ in range(2):
        assert client.post("/alexa", json=envelopes.intent("AMAZON.HelpIntent")).status_code == 200

    after = (sample("cramp_coach_requests_total", **launch), sample("cramp_coach_requests_total", **help_))
    assert (after[0] - before[0], after[1] - before[1]) == (1, 2)
    assert (
        sample("cramp_coach_request_duration_seconds_count", type="IntentRequest", intent="AMAZON.HelpIntent")
        - timed
        == 2
    )


def test_refusals_are_counted_by_their_fixed_reason(client: FlaskClient, envelopes: Envelopes) -> None:
    json_reason = {"reason": "body is not valid JSON"}
    replay_reason = {"reason": "request already received"}
    before = (
        sample("cramp_coach_refusals_total", **json_reason),
        sample("cramp_coach_refusals_total", **replay_reason),
    )
    unknown = {"type": "unknown", "intent": "-", "status": "400"}
    unknown_before = sample("cramp_coach_requests_total", **unknown)

    # Two different parser messages ("... at offset 1", "... at offset 5"): one label.
    for body in (b"{", b'{"a": }'):
        response = client.post("/alexa", data=body, content_type="application/json")
        assert response.status_code == 400 and "offset" in response.get_json()["error"]
    launch = envelopes.launch()
    client.post("/alexa", json=launch)
    assert client.post("/alexa", json=launch).status_code == 400

    after = (
        sample("cramp_coach_refusals_total", **json_reason),
        sample("cramp_coach_refusals_total", **replay_reason),
    )
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)
    assert sample("cramp_coach_requests_total", **unknown) - unknown_before == 2


def test_labels_from_a_forged_envelope_stay_in_the_known_set(
    client: FlaskClient, envelopes: Envelopes
) -> None:
    forged_type = envelopes.envelope({"type": "Evil.Request\nX"})
    forged_intent = envelopes.intent("AMAZON.HelpIntent")
    forged_intent["request"]["intent"]["name"] = "DropTablesIntent"
    client.post("/alexa", json=forged_type)
    client.post("/alexa", json=forged_intent)
    text = client.get("/metrics").get_data(as_text=True)
    assert "Evil" not in text and "DropTables" not in text
    assert sample("cramp_coach_requests_total", type="other", intent="-", status="400") >= 1
    assert sample("cramp_coach_requests_total", type="IntentRequest", intent="other", status="200") >= 1


def test_reason_labels_drop_the_variable_part() -> None:
    assert reason_label("body is not valid JSON: Expecting value at offset 3") == "body is not valid JSON"
    assert reason_label("certificate chain is not trusted") == "certificate chain is not trusted"
    assert len(reason_label("x" * 500)) == 60


def test_known_intents_are_the_models_intents() -> None:
    model = json.loads((Path(__file__).resolve().parent.parent / "interaction_models/en-US.json").read_text())
    declared = {intent["name"] for intent in model["interactionModel"]["languageModel"]["intents"]}
    assert declared <= known_intents()
    assert "AMAZON.HelpIntent" in known_intents()


def test_metrics_are_served_in_prometheus_text_format(client: FlaskClient, envelopes: Envelopes) -> None:
    client.post("/alexa", json=envelopes.launch())
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.get_data(as_text=True))}
    assert {"cramp_coach_requests", "cramp_coach_request_duration_seconds", "cramp_coach_refusals"} <= names


def _scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "cramp_coach_requests_total" and s.labels.get("type") == "LaunchRequest":
                totals["launch"] = totals.get("launch", 0.0) + s.value
            if (
                s.name == "cramp_coach_request_duration_seconds_count"
                and s.labels.get("type") == "LaunchRequest"
            ):
                totals["timed"] = totals.get("timed", 0.0) + s.value
    return totals


def test_under_gunicorn_with_two_workers_every_scrape_counts_both(
    sqlite_url: str, tmp_path: Path, envelopes: Envelopes
) -> None:
    assert not os.environ.get("PROMETHEUS_MULTIPROC_DIR"), "the test process must use its own registry"
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"left from an earlier run")
    settings = {"WEB_CONCURRENCY": "2", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with running_gunicorn(sqlite_url, tmp_path, **settings) as (url, log):
        assert not (metrics_dir / "counter_99999.db").exists(), "samples of an earlier run are cleared"
        sent = 0

        def both_workers_answered() -> bool:
            nonlocal sent
            # A fresh connection each time, so the kernel hands requests to either process.
            body = json.dumps(envelopes.launch()).encode()
            request = urllib.request.Request(
                f"{url}/alexa", data=body, headers={"Content-Type": "application/json", "Connection": "close"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            sent += 1
            pids = {m[1] for p in metrics_dir.iterdir() if (m := re.fullmatch(r"counter_(\d+)\.db", p.name))}
            return len(pids) >= 2

        wait_for(both_workers_answered, seconds=60)
        # Whichever process answers a scrape, it reports what both have counted.
        for _ in range(6):
            assert _scrape(url) == {"launch": sent, "timed": sent}
        assert "metrics of all worker processes are kept in" in log.read_text()


def test_gunicorn_makes_its_own_metrics_folder_and_removes_it(sqlite_url: str, tmp_path: Path) -> None:
    with running_gunicorn(sqlite_url, tmp_path) as (url, log):
        found = re.search(r"metrics of all worker processes are kept in (\S+)", log.read_text())
        assert found is not None
        folder = Path(found.group(1))
        assert folder.is_dir()
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
            assert response.status == 200
    assert not folder.exists()
