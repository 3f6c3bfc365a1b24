"""Screens over HTTP: every APL document is valid, every binding in it is supplied by the datasource
the skill really sends, it shows no words of its own, a device without a screen gets no APL, and
every response stays within Alexa's 24 KB.

The documents are checked against the APL 2024.3 specification as the reference core engine
(alexa/apl-core-library) defines it: its component types, its component property names, the
document's top-level properties and resource kinds. The checker is itself tested on broken
documents, so a check that stopped working would fail here.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from skill import screens, speech
from skill.content import Content, load_language
from skill.handlers import questions
from tests.conftest import Clock
from tests.envelopes import Envelopes, said
from tests.test_questions import Talk, heard

ROOT = Path(__file__).resolve().parent.parent
APL_DIR = ROOT / "skill" / "apl"
WORDS = load_language("en")
APL = "Alexa.Presentation.APL"
SCREEN_DEVICE = {APL: {"runtime": {"maxVersion": "2024.3"}}}
# Alexa refuses a response over 24 kilobytes.
MAX_RESPONSE_BYTES = 24 * 1024

# The APL component types (apl-core-library, componentproperties.cpp, APL 2024.3).
COMPONENT_TYPES = {
    "Container",
    "EditText",
    "Frame",
    "GridSequence",
    "Host",
    "Image",
    "Pager",
    "ScrollView",
    "Sequence",
    "Text",
    "TouchWrapper",
    "VectorGraphic",
    "Video",
    "FlexSequence",
}
NO_CHILDREN = {"Text", "Image", "Video", "VectorGraphic", "EditText", "Host"}
ONE_CHILD = {"Frame", "ScrollView", "TouchWrapper"}
# The component property names the core engine knows (the same table), and the structural ones
# its builder reads.
PROPERTIES = {
    *"""accessibilityAdjustableRange accessibilityAdjustableValue accessibilityLabel action actions align
    alignItems alignSelf audioTrack autoplay background backgroundColor borderBottomLeftRadius
    borderBottomRightRadius borderColor borderRadius borderStrokeWidth borderTopLeftRadius
    borderTopRightRadius borderWidth bottom checked color description direction disabled display
    embeddedDocument end entities entity environment filter filters firstId firstIndex fontFamily fontSize
    fontStyle fontWeight gesture gestures graphic grow handleKeyDown handleKeyUp handlePageMove handleTick
    handleVisibilityChange height highlightColor hint hintColor hintStyle hintWeight id initialPage
    justifyContent keyboardType lang layoutDirection left letterSpacing lineHeight maxHeight maxLength
    maxLines maxWidth minHeight minWidth muted navigation nextFocusDown nextFocusForward nextFocusLeft
    nextFocusRight nextFocusUp numbered numbering onBlur onCancel onChildrenChanged onCursorEnter
    onCursorExit onCursorMove onDown onEnd onFail onFocus onLayout onLoad onMount onMove onPageChanged
    onPause onPlay onPress onScroll onSpeechMark onSubmit onTextChange onTextLayout onTimeUpdate
    onTrackFail onTrackReady onTrackUpdate onUp opacity overlayColor overlayGradient padding paddingBottom
    paddingEnd paddingLeft paddingRight paddingStart paddingTop pageDirection pageId pageIndex parameters
    playingState pointerEvents position preserve right role scale screenLock scrollDirection secureInput
    selectOnFocus shadowColor shadowHorizontalOffset shadowRadius shadowVerticalOffset shrink size snap
    source sources spacing speech start submitKeyType text textAlign textAlignVertical top transform
    validCharacters width wrap""".split(),  # noqa: SIM905 (a word list, kept readable)
    *(
        "type",
        "when",
        "bind",
        "data",
        "items",
        "item",
        "firstItem",
        "lastItem",
        "style",
        "inheritParentState",
    ),
}
DOCUMENT_KEYS = {
    "type",
    "version",
    "description",
    "theme",
    "background",
    "import",
    "resources",
    "styles",
    "layouts",
    "graphics",
    "commands",
    "onMount",
    "onConfigChange",
    "onDisplayStateChange",
    "settings",
    "mainTemplate",
    "extensions",
    "environment",
    "export",
    "lang",
    "layoutDirection",
    "handleKeyDown",
    "handleKeyUp",
    "handleTick",
}
RESOURCE_KEYS = {"when", "description", "colors", "dimensions", "numbers", "booleans", "gradients", "easing"}
# What a binding may name besides the mainTemplate's parameter and bound variables.
GLOBALS = {
    "data",
    "index",
    "length",
    "ordinal",
    "elapsedTime",
    "localTime",
    "utcTime",
    "viewport",
    "environment",
    "Math",
    "String",
    "Array",
    "Time",
}
LITERALS = {"true", "false", "null"}
# Properties a person sees or hears: they may only show what the skill sends.
VISIBLE = {"text", "accessibilityLabel", "hint", "speech"}
BINDING = re.compile(r"\$\{([^{}]*)\}")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
RESOURCE_REF = re.compile(r"@([A-Za-z_]\w*)")
NAME_CHAIN = re.compile(r"(?<![\w.@])([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)")


def documents() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(APL_DIR.glob("*.json"))
    }


# --- The checker ------------------------------------------------------------------------------------


@dataclass
class Scope:
    names: frozenset[str] = frozenset()
    # What ``${data}`` is for each child a ``data`` array inflates; None outside one.
    elements: list[Any] | None = None


@dataclass
class Checked:
    problems: list[str] = field(default_factory=list)
    # payload paths the document reads, e.g. ("topic", "title")
    read: set[tuple[str, ...]] = field(default_factory=set)


def _resolve(value: Any, parts: list[str]) -> tuple[bool, Any]:
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _expressions(text: str) -> list[str]:
    return BINDING.findall(text)


def _check_string(
    where: str, text: str, scope: Scope, datasources: dict[str, Any] | None, resources: set[str], out: Checked
) -> None:
    whole_ref = re.fullmatch(r"@([A-Za-z_]\w*)", text)
    if whole_ref and whole_ref.group(1) not in resources:
        out.problems.append(f"{where}: unknown resource @{whole_ref.group(1)}")
    for expression in _expressions(text):
        bare = QUOTED.sub("''", expression)
        for name in RESOURCE_REF.findall(bare):
            if name not in resources:
                out.problems.append(f"{where}: unknown resource @{name}")
        for root, rest in NAME_CHAIN.findall(RESOURCE_REF.sub("0", bare)):
            parts = [p for p in rest.split(".") if p]
            if root in LITERALS or root in scope.names or root in GLOBALS - {"data"}:
                continue
            if root == "data":
                if scope.elements is None:
                    out.problems.append(f"{where}: ${{data}} outside a data-inflated component")
                elif datasources is not None:
                    for element in scope.elements:
                        found, _ = _resolve(element, parts)
                        if not found:
                            out.problems.append(f"{where}: data.{'.'.join(parts)} missing in {element!r}")
                continue
            if root != "payload":
                out.problems.append(f"{where}: unknown name {root!r} in ${{{expression}}}")
                continue
            out.read.add(tuple(parts))
            if datasources is not None:
                found, _ = _resolve(datasources, parts)
                if not found:
                    out.problems.append(f"{where}: payload.{'.'.join(parts)} is not in the datasource sent")


def _payload_value(text: str, datasources: dict[str, Any]) -> Any:
    match = re.fullmatch(r"\$\{payload((?:\.[A-Za-z_]\w*)+)\}", text)
    if not match:
        return None
    found, value = _resolve(datasources, match.group(1).strip(".").split("."))
    return value if found else None


def _check_component(
    node: Any,
    where: str,
    scope: Scope,
    datasources: dict[str, Any] | None,
    resources: set[str],
    out: Checked,
) -> None:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        out.problems.append(f"{where}: not a component: {node!r}")
        return
    kind = node["type"]
    where = f"{where}/{kind}"
    if kind not in COMPONENT_TYPES:
        out.problems.append(f"{where}: unknown component type")
    for key in node:
        if key not in PROPERTIES:
            out.problems.append(f"{where}: unknown property {key!r}")
    names = set(scope.names)
    for binding in node.get("bind", []):
        if not isinstance(binding, dict) or "name" not in binding or "value" not in binding:
            out.problems.append(f"{where}: a bind needs a name and a value")
            continue
        _check_string(
            f"{where}.bind",
            str(binding["value"]),
            Scope(frozenset(names), scope.elements),
            datasources,
            resources,
            out,
        )
        names.add(str(binding["name"]))
    own = Scope(frozenset(names), scope.elements)
    for key, value in node.items():
        if key in ("items", "item", "firstItem", "lastItem", "bind", "type"):
            continue
        for text in _strings(value):
            _check_string(f"{where}.{key}", text, own, datasources, resources, out)
        if key in VISIBLE and isinstance(value, str) and BINDING.sub("", value).strip():
            out.problems.append(f"{where}.{key}: shows words of its own: {value!r}")
    children: list[Any] = []
    for key in ("items", "item", "firstItem", "lastItem"):
        value = node.get(key)
        if value is not None:
            children += value if isinstance(value, list) else [value]
    if kind in NO_CHILDREN and children:
        out.problems.append(f"{where}: a {kind} has no children")
    if kind in ONE_CHILD and len(children) > 1:
        out.problems.append(f"{where}: a {kind} has one child")
    child_scope = own
    if "data" in node:
        elements = _payload_value(str(node["data"]), datasources) if datasources is not None else []
        if datasources is not None and not isinstance(elements, list):
            out.problems.append(f"{where}.data: {node['data']!r} is not a list in the datasource sent")
            elements = []
        child_scope = Scope(own.names, list(elements or []))
    for index, child in enumerate(children):
        _check_component(child, f"{where}[{index}]", child_scope, datasources, resources, out)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def check(document: dict[str, Any], datasources: dict[str, Any] | None = None) -> Checked:
    """Problems with an APL document, and with its bindings against ``datasources`` when given."""
    out = Checked()
    if document.get("type") != "APL":
        out.problems.append("type is not APL")
    if document.get("version") != screens.APL_VERSION:
        out.problems.append(f"version {document.get('version')!r} is not {screens.APL_VERSION}")
    for key in document:
        if key not in DOCUMENT_KEYS:
            out.problems.append(f"unknown top-level property {key!r}")
    resources: set[str] = set()
    for block in document.get("resources", []):
        for key, values in block.items():
            if key not in RESOURCE_KEYS:
                out.problems.append(f"resources: unknown kind {key!r} (words belong in the datasource)")
            elif isinstance(values, dict):
                resources.update(values)
        if "when" in block and not BINDING.fullmatch(str(block["when"])):
            out.problems.append(f"resources: when {block['when']!r} is not a binding")
    main = document.get("mainTemplate")
    if not isinstance(main, dict):
        out.problems.append("no mainTemplate")
        return out
    if main.get("parameters") != ["payload"]:
        out.problems.append(f"mainTemplate parameters {main.get('parameters')!r}: expected ['payload']")
    items = main.get("items", main.get("item"))
    items = items if isinstance(items, list) else [items]
    if not items or items == [None]:
        out.problems.append("mainTemplate has no items")
    for index, item in enumerate(items):
        _check_component(item, f"mainTemplate[{index}]", Scope(), datasources, resources, out)
    return out


# --- The checker, checked -----------------------------------------------------------------------------


def test_every_document_is_valid_apl_on_its_own() -> None:
    found = documents()
    assert set(found) == set(screens.document_names()) == {"topic", "step", "habit"}
    for name, document in found.items():
        assert check(document).problems == [], name
        assert screens.document(name) == document  # what the skill sends is the file


def first_text(document: dict[str, Any]) -> dict[str, Any]:
    """The topic document's first Text (its header)."""
    text: dict[str, Any] = document["mainTemplate"]["items"][0]["item"]["items"][0]
    assert text["type"] == "Text"
    return text


@pytest.mark.parametrize(
    ("break_it", "problem"),
    [
        (lambda d: d["mainTemplate"]["items"][0].update(type="Panel"), "unknown component type"),
        (lambda d: d["mainTemplate"]["items"][0].update(colour="red"), "unknown property 'colour'"),
        (
            lambda d: first_text(d).update(text="Cramp Coach"),
            "words of its own",
        ),
        (
            lambda d: first_text(d).update(color="@pink"),
            "unknown resource @pink",
        ),
        (
            lambda d: first_text(d).update(text="${payload.topic.nope}"),
            "not in the datasource",
        ),
        (
            lambda d: first_text(d).update(text="${user.name}"),
            "unknown name 'user'",
        ),
        (lambda d: d["mainTemplate"].update(parameters=["data"]), "mainTemplate parameters"),
        (lambda d: d.update(version="1.1"), "version '1.1'"),
        (lambda d: d["resources"][0].update(strings={"hello": "Hello"}), "unknown kind 'strings'"),
        (
            lambda d: first_text(d).update(items=[{"type": "Text"}]),
            "has no children",
        ),
    ],
)
def test_the_checker_finds_what_it_guards(break_it: Any, problem: str) -> None:
    document = copy.deepcopy(documents()["topic"])
    datasources = screens.topic(WORDS, "what_is", hint="").datasources
    assert check(document, dict(datasources)).problems == []
    break_it(document)
    problems = check(document, dict(datasources)).problems
    assert any(problem in p for p in problems), problems


def test_a_data_binding_must_be_supplied_for_every_element() -> None:
    document = documents()["habit"]
    datasources = copy.deepcopy(
        dict(screens.habit(WORDS, [(d, True) for d in _two_weeks()], summary="s", hint="h").datasources)
    )
    assert check(document, datasources).problems == []
    del datasources["habit"]["nights"][3]["day"]
    assert any("data.day missing" in p for p in check(document, datasources).problems)


def _two_weeks() -> list[Any]:
    from datetime import date

    return [date(2026, 11, 1) + timedelta(days=i) for i in range(14)]


# --- Real responses -------------------------------------------------------------------------------------


def render_documents(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in body["response"].get("directives", []) if d["type"].startswith(APL)]


def topic_requests(words: Content) -> Iterator[tuple[str, dict[str, str] | None, dict[str, str] | None]]:
    """Every question intent with no slot, and with each value id its slot type has."""
    for question in (*questions.QUESTIONS, questions.RED_FLAGS):
        yield question.intent, None, None
        if question.slot and question.slot_type:
            for value_id, names in words.synonyms(question.slot_type).items():
                yield question.intent, {question.slot: names[0]}, {question.slot: value_id}


@pytest.fixture
def zoned(envelopes: Envelopes, alexa_stub: Any) -> Envelopes:
    """Envelopes whose device has a time zone at the stub's Settings API."""
    envelopes.api_endpoint = alexa_stub.url
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "America/New_York")
    return envelopes


@pytest.fixture
def screen_talk(client: FlaskClient, zoned: Envelopes) -> Talk:
    envelopes = zoned
    envelopes.supported_interfaces = SCREEN_DEVICE
    talk = Talk(client, envelopes)
    heard(talk)
    return talk


@dataclass
class Shown:
    what: str
    body: dict[str, Any]
    size: int

    @property
    def directive(self) -> dict[str, Any]:
        found = render_documents(self.body)
        assert len(found) == 1, f"{self.what}: {len(found)} APL directives"
        return found[0]


def every_screen(talk: Talk) -> list[Shown]:
    """Each topic answer, each routine step and the habit answer, as this device receives them."""
    shown: list[Shown] = []

    def keep(what: str, body: dict[str, Any]) -> None:
        shown.append(Shown(what, body, talk.last_size))

    for intent, slots, resolved in topic_requests(WORDS):
        talk.new_session()
        keep(f"{intent} {resolved}", talk.intent(intent, slots, resolved=resolved))
    talk.new_session()
    keep("progress before any routine", talk.intent("ProgressIntent"))
    keep("step 1", talk.intent("StartRoutineIntent"))
    for number in range(2, len(WORDS.get("routine.steps")) + 1):
        keep(f"step {number}", talk.intent("AMAZON.NextIntent"))
    keep("progress after the routine", talk.intent("ProgressIntent"))
    return shown


def test_every_screen_binds_only_what_the_skill_sends_and_fits_in_24_kb(screen_talk: Talk) -> None:
    shown = every_screen(screen_talk)
    read: dict[str, set[tuple[str, ...]]] = {}
    for item in shown:
        directive = item.directive
        assert directive["token"].startswith(screens.TOKEN_PREFIX)
        name = directive["token"].removeprefix(screens.TOKEN_PREFIX)
        result = check(directive["document"], directive["datasources"])
        assert result.problems == [], item.what
        read.setdefault(name, set()).update(result.read)
        assert item.size <= MAX_RESPONSE_BYTES, f"{item.what}: {item.size} bytes"
        # The card stays.
        if name == "topic" or item.what == "step 1":
            assert item.body["response"]["card"]["title"]
    # Everything sent is shown: no datasource field is dead weight.
    for item in shown:
        directive = item.directive
        name = directive["token"].removeprefix(screens.TOKEN_PREFIX)
        (source,) = directive["datasources"].values()
        (key,) = directive["datasources"]
        assert {(key, field_name) for field_name in source} <= read[name], item.what
    assert set(read) == {"topic", "step", "habit"}


def test_every_topic_shows_its_title_and_its_key_points(screen_talk: Talk) -> None:
    expected = {
        (WORDS.text(f"topics.{path}.title"), tuple(WORDS.get(f"topics.{path}.points")))
        for path in _topic_paths()
    }
    seen = set()
    for item in every_screen(screen_talk):
        data = item.directive["datasources"]
        if "topic" in data:
            seen.add((data["topic"]["title"], tuple(data["topic"]["points"])))
            assert data["topic"]["header"] == WORDS.text("prompts.skill_name")
    assert expected <= seen, expected - seen


def _topic_paths() -> list[str]:
    from tests.test_content import topic_paths

    return topic_paths(WORDS)


def test_red_flag_screens_keep_the_urgent_advice_first(screen_talk: Talk) -> None:
    for symptom in ("red", "hot", "swollen"):
        screen_talk.new_session()
        body = screen_talk.intent("RedFlagIntent", {"symptom": symptom}, resolved={"symptom": symptom})
        (directive,) = render_documents(body)
        topic = directive["datasources"]["topic"]
        assert topic["urgent"] is True
        assert topic["points"][0] == "Get medical help now"
        assert body["response"]["shouldEndSession"] is True


def test_each_step_counts_down_its_hold_after_the_words_before_it(screen_talk: Talk) -> None:
    steps = WORDS.get("routine.steps")
    bodies = [screen_talk.intent("StartRoutineIntent")]
    bodies += [screen_talk.intent("AMAZON.NextIntent") for _ in steps[1:]]
    for index, (step, body) in enumerate(zip(steps, bodies, strict=True)):
        (directive,) = render_documents(body)
        data = directive["datasources"]["step"]
        assert data["name"] == step["name"] and data["instructions"] == step["say"]
        assert data["progress"] == WORDS.text("screens.step_of", number=index + 1, count=len(steps))
        ssml = body["response"]["outputSpeech"]["ssml"]
        seconds = int(step.get("seconds", 0))
        assert data["seconds"] == seconds == speech.break_seconds(ssml)
        if seconds:
            # The countdown waits for exactly the words spoken before the first break of the hold.
            before_hold = ssml.removeprefix("<speak>").split("<break", 1)[0]
            assert data["holdStartsAfterMs"] == round(speech.estimate_seconds(before_hold) * 1000)
            assert data["holdStartsAfterMs"] > 5000
            assert data["timerLabel"] == WORDS.text(f"screens.timer.{step['timer']}")
        else:
            assert data["holdStartsAfterMs"] == 0


def test_the_habit_screen_marks_each_of_the_last_fourteen_nights(screen_talk: Talk, clock: Clock) -> None:
    for _ in range(3):
        screen_talk.new_session()
        screen_talk.intent("StartRoutineIntent")
        for _ in WORDS.get("routine.steps")[1:]:
            screen_talk.intent("AMAZON.NextIntent")
        clock.now += timedelta(days=1)
    clock.now -= timedelta(days=1)  # the third night again
    screen_talk.new_session()
    body = screen_talk.intent("ProgressIntent")
    (directive,) = render_documents(body)
    nights = directive["datasources"]["habit"]["nights"]
    assert len(nights) == 14
    assert [n["done"] for n in nights] == [False] * 11 + [True] * 3
    assert [n["tonight"] for n in nights] == [False] * 13 + [True]
    assert directive["datasources"]["habit"]["summary"] in said(body)


# --- Devices without a screen --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "interfaces",
    [
        {},
        {"AudioPlayer": {}},
        {APL: {"runtime": {"maxVersion": "2023.2"}}},  # a screen, but an older APL than the documents
    ],
    ids=["voice only", "audio player", "older APL"],
)
def test_a_device_without_a_screen_for_these_documents_gets_no_apl(
    client: FlaskClient, zoned: Envelopes, interfaces: dict[str, Any]
) -> None:
    envelopes = zoned
    envelopes.supported_interfaces = interfaces
    talk = Talk(client, envelopes)
    heard(talk)
    shown = every_screen(talk)
    assert len(shown) > 50
    for item in shown:
        assert render_documents(item.body) == [], item.what
        assert said(item.body), item.what


def test_screen_and_voice_only_devices_hear_the_same_words(
    client: FlaskClient, clock: Clock, alexa_stub: Any
) -> None:
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "America/New_York")
    spoken: list[list[str]] = []
    for interfaces in ({}, SCREEN_DEVICE):
        envelopes = Envelopes(clock)
        envelopes.api_endpoint = alexa_stub.url
        envelopes.supported_interfaces = interfaces
        talk = Talk(client, envelopes, user_id=f"amzn1.ask.account.SAME{len(spoken)}")
        heard(talk)
        spoken.append([said(item.body) for item in every_screen(talk)])
    assert spoken[0] == spoken[1]


# --- The key points, as content --------------------------------------------------------------------

# Safety words an answer says that its key points must show too (answer words -> point words).
CARRIED = {
    "doctor": ("doctor",),
    "red, hot or swollen": ("red, hot or swollen",),
    "don't stop a medicine": ("don't stop a medicine",),
    "medical help now": ("get medical help now", "get help now"),
    "blood clot": ("blood clot",),
}


def test_every_topic_has_short_key_points_that_keep_its_safety_advice() -> None:
    for path in _topic_paths():
        key = f"topics.{path}"
        points = WORDS.get(f"{key}.points")
        assert isinstance(points, list) and 2 <= len(points) <= 4, path
        for point in points:
            assert isinstance(point, str) and point.strip() == point and point, path
            assert len(point) <= 48, f"{path}: {point!r} is long for a screen"
            assert "{" not in point, path
        answer = WORDS.text(f"{key}.answer").lower()
        shown = " ".join([WORDS.text(f"{key}.title"), *points]).lower()  # the screen shows both
        for said_words, shown_words in CARRIED.items():
            if said_words in answer:
                assert any(w in shown for w in shown_words), f"{path}: the points drop {said_words!r}"
        if WORDS.has(f"{key}.urgent"):
            assert points[0] == "Get medical help now", path


def test_a_document_is_sent_whole_and_as_the_sdks_serializer_writes_it() -> None:
    from ask_sdk_core.serialize import DefaultSerializer
    from ask_sdk_model import Response, ResponseEnvelope

    from skill.serializer import EnvelopeSerializer

    screen = screens.step(WORDS, 1, spoken_before_hold=["Step 2."], hint="Say next.")
    envelope = ResponseEnvelope(version="1.0", response=Response(directives=[screens.directive(screen)]))
    ours = EnvelopeSerializer().serialize(envelope)
    assert ours == DefaultSerializer().serialize(envelope)
    # Not copied: the document sent is the one read from its file, which nothing changes.
    assert ours["response"]["directives"][0]["document"] is screens.document("step")
    assert json.loads(json.dumps(ours))["response"]["directives"][0]["document"] == documents()["step"]
