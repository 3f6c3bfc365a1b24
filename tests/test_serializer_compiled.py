"""The compiled readers and writers give exactly what the SDK's DefaultSerializer gives.

Every envelope the tests build, the fuzz test's bases and thousands of their mutations (wrong
types, nulls, unknown keys, hostile text), every request type the SDK knows, and the responses the
skill sends for them: the envelope serializer must build equal objects (or refuse where the SDK
refuses) and write equal JSON.
"""

from __future__ import annotations

import copy
import math
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import Request, RequestEnvelope
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill.endpoint import EXTENSION
from skill.serializer import MODEL_HOOK, SDK_MODEL_HOOK, EnvelopeSerializer
from tests.envelopes import Envelopes
from tests.test_fuzz_endpoint import BASES, GRANTED, mutate
from tests.test_serializer import requests

NOW = datetime(2026, 11, 5, 21, 30, tzinfo=UTC)
APL = {"Alexa.Presentation.APL": {"runtime": {"maxVersion": "2023.3"}}}


def sdk_read(payload: Any, obj_type: Any = RequestEnvelope) -> Any:
    return getattr(DefaultSerializer(), MODEL_HOOK)(copy.deepcopy(payload), obj_type)


def fast_read(serializer: EnvelopeSerializer, payload: Any, obj_type: Any = RequestEnvelope) -> Any:
    return serializer.reader(obj_type)(copy.deepcopy(payload))


def same(a: Any, b: Any, where: str = "") -> None:
    """Equal as the models' own __eq__ sees it, with NaN equal to NaN and time zones compared too."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, datetime):
        assert (a, a.utcoffset()) == (b, b.utcoffset()), where
    elif isinstance(a, str | int | float | bytes | date | Enum | type(None)):
        assert a == b, where
    else:
        # A model: its __eq__ compares __dict__, in which the order of keys does not count.
        mine, theirs = vars(a), vars(b)
        assert sorted(mine) == sorted(theirs), where
        for key in mine:
            same(mine[key], theirs[key], f"{where}<{type(a).__name__}>.{key}")


def check_reads_alike(serializer: EnvelopeSerializer, payload: Any, obj_type: Any = RequestEnvelope) -> None:
    try:
        theirs = sdk_read(payload, obj_type)
    except Exception as exc:  # inside a model always SerializationException; bare types vary
        with pytest.raises(type(exc)):
            fast_read(serializer, payload, obj_type)
        return
    ours = fast_read(serializer, payload, obj_type)
    same(ours, theirs)
    assert ours == theirs or _has_nan(payload)
    check_writes_alike(serializer, ours)


def check_writes_alike(serializer: EnvelopeSerializer, obj: Any) -> None:
    try:
        theirs = DefaultSerializer().serialize(obj)
    except Exception as exc:
        with pytest.raises(type(exc)):
            serializer.serialize(obj)
        return
    same(serializer.serialize(obj), theirs)


def _has_nan(node: Any) -> bool:
    if isinstance(node, float):
        return math.isnan(node)
    if isinstance(node, dict):
        return any(_has_nan(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_nan(v) for v in node)
    return False


def every_envelope() -> list[dict[str, Any]]:
    """The test suite's envelopes: each builder, the serializer test's kinds and the fuzz bases."""
    envelopes = Envelopes(lambda: NOW)
    out = requests(envelopes)
    envelopes.permissions = GRANTED
    out += [base(envelopes) for base in BASES]
    envelopes.supported_interfaces = dict(APL)
    out += [base(envelopes) for base in BASES[:6]]
    out.append(envelopes.launch(with_session=False))
    out.append(envelopes.intent("CausesIntent", {"cause": None}, dialog_state="STARTED"))
    return out


def test_every_envelope_of_the_tests_reads_alike() -> None:
    serializer = EnvelopeSerializer()
    for payload in every_envelope():
        check_reads_alike(serializer, payload)
        # A second time, with everything compiled.
        check_reads_alike(serializer, payload)


def test_every_request_type_the_sdk_knows_reads_alike() -> None:
    serializer = EnvelopeSerializer()
    base = Envelopes(lambda: NOW).launch()
    for request_type in [*Request.discriminator_value_class_map, "NoSuchRequest", ""]:
        payload = copy.deepcopy(base)
        payload["request"]["type"] = request_type
        payload["request"]["extra"] = {"nested": [1, None, "x"]}
        check_reads_alike(serializer, payload)
        if request_type in Request.discriminator_value_class_map:
            assert type(fast_read(serializer, payload).request) is not Request


def test_unknown_fields_nulls_enums_and_datetimes_read_alike() -> None:
    serializer = EnvelopeSerializer()
    envelopes = Envelopes(lambda: NOW)
    base = envelopes.intent("CausesIntent", {"cause": "dehydration"}, resolved={"cause": "dehydration"})
    cases: list[Any] = []

    def variant(change: Any) -> None:
        payload = copy.deepcopy(base)
        change(payload)
        cases.append(payload)

    variant(lambda p: p.update(unknownTop={"a": 1}, object_type="shadow"))
    variant(lambda p: p["request"].update(object_type="x", request_id="y", newField=[{"x": 1}]))
    variant(lambda p: p["context"]["System"].update(device=None, user=None, apiEndpoint=None))
    variant(lambda p: p["request"]["intent"].update(confirmationStatus="BOGUS"))
    variant(lambda p: p["request"]["intent"].update(confirmationStatus=None))
    variant(lambda p: p["request"].update(dialogState="IN_PROGRESS"))
    variant(lambda p: p["request"].update(dialogState=3))
    variant(lambda p: p["request"].update(timestamp="2026-11-05T21:30:00.123+01:00"))
    variant(lambda p: p["request"].update(timestamp="Thu, 05 Nov 2026 21:30:00 GMT"))
    variant(lambda p: p["request"].update(timestamp="not a time"))
    variant(lambda p: p["request"].update(timestamp=17))
    variant(lambda p: p["request"].update(timestamp=None))
    variant(lambda p: p["request"].update(type=None))
    variant(lambda p: p["request"].pop("type"))
    variant(lambda p: p.update(request=""))
    variant(lambda p: p.update(request=[]))
    variant(lambda p: p.update(request="LaunchRequest"))
    variant(lambda p: p.update(session=""))
    variant(lambda p: p.update(session=[]))
    variant(lambda p: p.update(session=["new"]))
    variant(lambda p: p.update(session=7))
    variant(lambda p: p.update(session=None))
    variant(lambda p: p["session"].update(new="yes", attributes=[1, 2]))
    variant(lambda p: p["session"].update(attributes="text"))
    variant(lambda p: p["request"]["intent"].update(slots=["cause"]))
    variant(lambda p: p["request"]["intent"].update(slots={"cause": "plain"}))
    variant(
        lambda p: p["request"]["intent"]["slots"]["cause"].update(resolutions={"resolutionsPerAuthority": {}})
    )
    variant(
        lambda p: p["request"]["intent"]["slots"]["cause"].update(
            resolutions={"resolutionsPerAuthority": "ab"}
        )
    )
    variant(lambda p: p["context"]["System"].update(application=12.5))
    variant(lambda p: p["context"]["System"]["device"].update(supportedInterfaces={"": None, "\ud800": 1}))
    variant(lambda p: p.update(version=1.0))
    variant(lambda p: p.update(version=10**30))
    variant(lambda p: p.update(version=float("nan")))
    variant(lambda p: p.update(version=True))
    variant(lambda p: p.update(version={"x": 1}))
    variant(lambda p: p.update(context=None))
    variant(lambda p: p.update(context={}))
    for payload in cases:
        check_reads_alike(serializer, payload)
        check_reads_alike(serializer, payload)


@pytest.mark.parametrize(
    "obj_type",
    [
        "str",
        "int",
        "bool",
        "float",
        "object",
        "datetime",
        "date",
        "list[str]",
        "list[int, str]",
        "dict(str, int)",
        "dict(str, ask_sdk_model.slot.Slot)",
        "list[ask_sdk_model.slot.Slot]",
        "ask_sdk_model.no_such_module.Thing",
        "ask_sdk_model.slot_confirmation_status.SlotConfirmationStatus",
        "ask_sdk_model.request.Request",
    ],
)
@pytest.mark.parametrize(
    "payload",
    [
        None,
        "",
        "2026-11-05",
        "12",
        "x",
        3,
        2.5,
        True,
        [],
        ["1", 2],
        {},
        {"a": "1"},
        {"type": "LaunchRequest"},
    ],
)
def test_any_type_string_reads_alike(obj_type: str, payload: Any) -> None:
    check_reads_alike(EnvelopeSerializer(), payload, obj_type)


@settings(
    max_examples=1500,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_envelopes_read_alike(data: st.DataObject) -> None:
    envelopes = Envelopes(lambda: NOW)
    envelopes.permissions = GRANTED
    base = data.draw(st.sampled_from(BASES), label="base")(envelopes)
    check_reads_alike(SERIALIZER, mutate(base, data))


# One serializer for all the mutations, as in the app: what it compiled for one must not change
# what it reads for the next.
SERIALIZER = EnvelopeSerializer()


def test_the_skills_responses_write_alike(app: Flask, envelopes: Envelopes) -> None:
    skill = app.extensions[EXTENSION]["skill"]
    serializer: EnvelopeSerializer = skill.serializer
    envelopes.supported_interfaces = dict(APL)
    payloads = [base(envelopes) for base in BASES]
    envelopes.supported_interfaces = {}
    payloads += [base(envelopes) for base in BASES]
    for payload in payloads:
        response = skill.invoke(request_envelope=serializer.envelope(payload), context=None)
        assert serializer.serialize(response) == DefaultSerializer().serialize(response)


def test_the_slow_path_hook_exists() -> None:
    assert SDK_MODEL_HOOK in vars(DefaultSerializer)
