"""``cramp-coach skill-package``: the manifest it builds and the ASK CLI layout it writes.

The manifest is checked against the official Skill Management API model (ask-smapi-model): it
must survive a round trip through the model's classes unchanged, so a misspelt field or an
unknown enum value (an event name, a certificate type) fails here rather than at ``ask deploy``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from ask_smapi_model.v1.skill.manifest.interface_type import InterfaceType
from ask_smapi_model.v1.skill.manifest.skill_manifest_envelope import SkillManifestEnvelope
from click.testing import CliRunner
from flask import Flask

import skill.handlers
from interaction_models.matcher import Matcher
from skill.cli import main
from skill.endpoint import EXTENSION
from skill.publishing.manifest import SKILL_EVENTS, build_manifest, model_locales
from tests.envelopes import Envelopes

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "interaction_models"
LOCALES = ["en-AU", "en-CA", "en-GB", "en-IN", "en-US"]
ENDPOINT = "https://coach.example.org/alexa"
INVOCATION = "cramp coach"
# The developer console's limits for the store texts.
MAX_SUMMARY, MAX_DESCRIPTION, MAX_EXAMPLES = 160, 4000, 3


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return build_manifest(ENDPOINT)["manifest"]


def strings_under(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings_under(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings_under(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


# --- The manifest ---------------------------------------------------------------------------------


def test_manifest_round_trips_through_the_official_model() -> None:
    document = build_manifest(ENDPOINT)
    # The model's Interface class lists no CAN_FULFILL_INTENT_REQUEST subclass (its enum does),
    # so the interfaces are checked against the enum and the rest round-trips.
    interfaces = document["manifest"]["apis"]["custom"].pop("interfaces")
    assert {i["type"] for i in interfaces} <= {t.value for t in InterfaceType}
    serializer = DefaultSerializer()
    parsed = serializer.deserialize(json.dumps(document), SkillManifestEnvelope)
    assert serializer.serialize(parsed) == document


def test_endpoint_comes_from_the_option(manifest: dict[str, Any]) -> None:
    expected = {"uri": ENDPOINT, "sslCertificateType": "Trusted"}
    assert manifest["apis"]["custom"]["endpoint"] == expected
    assert manifest["events"]["endpoint"] == expected
    other = build_manifest("https://other.example.net/cramp/alexa", "Wildcard")["manifest"]
    assert other["apis"]["custom"]["endpoint"] == {
        "uri": "https://other.example.net/cramp/alexa",
        "sslCertificateType": "Wildcard",
    }
    # Pages sit beside the endpoint, under the same path prefix.
    assert other["privacyAndCompliance"]["locales"]["en-US"]["privacyPolicyUrl"] == (
        "https://other.example.net/cramp/privacy"
    )


def test_every_url_is_https_on_the_endpoints_host(manifest: dict[str, Any]) -> None:
    urls = [(path, value) for path, value in strings_under(manifest) if re.search(r"(Uri|Url|\.uri)$", path)]
    assert len(urls) == 2 + 4 * len(LOCALES)  # two endpoints; two icons and two pages per locale
    for path, url in urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname) == ("https", "coach.example.org"), path


def test_every_model_locale_is_published(manifest: dict[str, Any]) -> None:
    assert model_locales() == LOCALES
    assert sorted(p.stem for p in MODELS.glob("*.json")) == LOCALES
    assert sorted(manifest["publishingInformation"]["locales"]) == LOCALES
    assert sorted(manifest["privacyAndCompliance"]["locales"]) == LOCALES
    assert sorted(manifest["publishingInformation"]["distributionCountries"]) == [
        "AU",
        "CA",
        "GB",
        "IN",
        "US",
    ]


def test_store_texts_are_complete_and_carry_the_health_disclaimer(manifest: dict[str, Any]) -> None:
    for locale, info in manifest["publishingInformation"]["locales"].items():
        assert info["name"] == "Cramp Coach", locale
        assert 0 < len(info["summary"]) <= MAX_SUMMARY, locale
        assert 0 < len(info["description"]) <= MAX_DESCRIPTION, locale
        assert 0 < len(info["examplePhrases"]) <= MAX_EXAMPLES, locale
        assert info["keywords"] and all(k.strip() == k and k for k in info["keywords"]), locale
        text = info["description"]
        for words in ("not medical advice", "cannot diagnose", "see a doctor", "red, hot or swollen"):
            assert words in text.lower(), f"{locale} description lacks {words!r}"
    assert manifest["publishingInformation"]["testingInstructions"]
    assert manifest["publishingInformation"]["category"] == "HEALTH_AND_FITNESS"


def test_permission_and_notification_schema(manifest: dict[str, Any]) -> None:
    assert manifest["permissions"] == [
        {"name": "alexa::alerts:reminders:skill:readwrite"},
        {"name": "alexa::devices:all:notifications:write"},
    ]
    assert manifest["events"]["publications"] == [{"eventName": "AMAZON.MessageAlert.Activated"}]
    assert {"type": "CAN_FULFILL_INTENT_REQUEST"} in manifest["apis"]["custom"]["interfaces"]


# --- Events: the manifest subscribes to exactly what the handlers answer -------------------------


def test_subscriptions_are_the_handled_events(manifest: dict[str, Any]) -> None:
    names = [s["eventName"] for s in manifest["events"]["subscriptions"]]
    assert names == list(SKILL_EVENTS.values())
    assert "SKILL_ENABLED" in names  # SkillEnabledHandler exists
    source = (ROOT / "skill" / "handlers" / "events.py").read_text()
    handled = {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if node.value.startswith(("AlexaSkillEvent.", "Reminders.")) and not node.value.endswith(".")
    }
    assert handled == set(SKILL_EVENTS)


@pytest.mark.parametrize("event_type", sorted(SKILL_EVENTS))
def test_each_subscribed_event_reaches_an_event_handler(
    app: Flask, envelopes: Envelopes, event_type: str
) -> None:
    services = app.extensions[EXTENSION]["services"]
    serializer = app.extensions[EXTENSION]["skill"].serializer
    envelope = envelopes.skill_event(event_type, {"acceptedPermissions": [], "subscriptions": []})
    handler_input = HandlerInput(
        request_envelope=serializer.deserialize(json.dumps(envelope), RequestEnvelope)
    )
    # The SDK dispatches to the first handler that accepts the request.
    first = next(h for h in skill.handlers.request_handlers(services) if h.can_handle(handler_input))
    assert type(first).__module__ == "skill.handlers.events", type(first).__name__
    assert app.test_client().post("/alexa", json=envelope).status_code == 200


# --- Example phrases are things the skill understands --------------------------------------------


def test_example_phrases_are_understood_by_every_model(manifest: dict[str, Any]) -> None:
    """Each example phrase, minus "Alexa, ask cramp coach", resolves to the intent it shows off.

    The models are a grammar whose samples hold wording slots, so a phrase is checked the way the
    simulator resolves it (interaction_models.matcher), not by looking for a literal sample. A
    phrase that only the free-text intent or nothing would take is not a good example.
    """
    launch = re.compile(rf"^alexa, (open|launch|start) {INVOCATION}$")
    # "Alexa, ask cramp coach to walk me through ...": Alexa drops the connecting word.
    ask = re.compile(rf"^alexa, ask {INVOCATION} (?:(?:to|for|about|if|whether) )?(?P<utterance>.+)$")
    phrases = {
        p for info in manifest["publishingInformation"]["locales"].values() for p in info["examplePhrases"]
    }
    assert phrases
    for locale in LOCALES:
        model = json.loads((MODELS / f"{locale}.json").read_text())
        assert model["interactionModel"]["languageModel"]["invocationName"] == INVOCATION
        matcher = Matcher(model)
        for phrase in phrases:
            spoken = " ".join(phrase.lower().rstrip(".?!").split())
            if launch.match(spoken):
                continue
            matched = ask.match(spoken)
            assert matched, f"{phrase!r} does not open the skill by its invocation name"
            found = matcher.match(matched.group("utterance"))
            assert found is not None, f"{locale}: {phrase!r} matches nothing"
            assert found.intent not in {"QuestionIntent", "AMAZON.FallbackIntent"}, (
                f"{locale}: {phrase!r} only reaches {found.intent}"
            )


# --- The pages the manifest links to are the app's own -------------------------------------------


def test_manifest_links_are_served_by_the_app(manifest: dict[str, Any], client: Any) -> None:
    links = {value for path, value in strings_under(manifest) if path.endswith(("IconUri", "Url"))}
    assert len(links) == 4
    for link in links:
        response = client.get(urlsplit(link).path)
        assert response.status_code == 200, link
        expected = "image/png" if link.endswith(".png") else "text/html"
        assert response.mimetype == expected, link


# --- The command and the layout ------------------------------------------------------------------


def test_command_writes_the_ask_cli_layout(tmp_path: Path) -> None:
    out = tmp_path / "project"
    result = CliRunner().invoke(main, ["skill-package", str(out), "--endpoint", ENDPOINT])
    assert result.exit_code == 0, result.output
    package = out / "skill-package"
    assert json.loads((package / "skill.json").read_text()) == build_manifest(ENDPOINT)
    for locale in LOCALES:
        copied = package / "interactionModels" / "custom" / f"{locale}.json"
        assert copied.read_bytes() == (MODELS / f"{locale}.json").read_bytes(), locale
    resources = json.loads((out / "ask-resources.json").read_text())
    assert resources["askcliResourcesVersion"] == "2020-03-31"
    assert resources["profiles"]["default"]["skillMetadata"]["src"] == "./skill-package"


def test_a_second_run_replaces_the_package_and_keeps_the_ask_cli_state(tmp_path: Path) -> None:
    out = tmp_path / "project"
    assert CliRunner().invoke(main, ["skill-package", str(out), "--endpoint", ENDPOINT]).exit_code == 0
    stale = out / "skill-package" / "interactionModels" / "custom" / "fr-FR.json"
    stale.write_text("{}")
    state = out / ".ask" / "ask-states.json"
    state.parent.mkdir()
    state.write_text('{"profiles": {"default": {"skillId": "amzn1.ask.skill.x"}}}')
    (out / "ask-resources.json").write_text('{"askcliResourcesVersion": "2020-03-31", "profiles": {"p": {}}}')

    moved = "https://moved.example.org/alexa"
    assert CliRunner().invoke(main, ["skill-package", str(out), "--endpoint", moved]).exit_code == 0
    assert not stale.exists()
    assert "amzn1.ask.skill.x" in state.read_text()
    assert '"p"' in (out / "ask-resources.json").read_text()
    manifest = json.loads((out / "skill-package" / "skill.json").read_text())["manifest"]
    assert manifest["apis"]["custom"]["endpoint"]["uri"] == moved


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://coach.example.org/alexa", "must be an https URL"),
        ("https:///alexa", "must be an https URL with a host name"),
        ("https://coach.example.org:8443/alexa", "port 443 only"),
        ("https://coach.example.org/alexa?x=1", "no query"),
        ("https://coach.example.org/skill", "must end in /alexa"),
    ],
)
def test_a_bad_endpoint_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, endpoint: str, message: str
) -> None:
    result = CliRunner().invoke(main, ["skill-package", str(tmp_path / "out"), "--endpoint", endpoint])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_the_manifest_declares_the_screens_the_apl_documents_are_for(manifest: dict[str, Any]) -> None:
    from ask_smapi_model.v1.skill.manifest import AlexaPresentationAplInterface

    (apl,) = [i for i in manifest["apis"]["custom"]["interfaces"] if i["type"] == "ALEXA_PRESENTATION_APL"]
    serializer = DefaultSerializer()
    parsed = serializer.deserialize(json.dumps(apl), AlexaPresentationAplInterface)
    assert serializer.serialize(parsed) == apl
    shapes = {(v["mode"], v["shape"]) for v in apl["supportedViewports"]}
    assert shapes == {("HUB", "ROUND"), ("HUB", "RECTANGLE"), ("TV", "RECTANGLE")}
    for viewport in apl["supportedViewports"]:
        assert viewport["minWidth"] <= viewport["maxWidth"] and viewport["minHeight"] <= viewport["maxHeight"]
