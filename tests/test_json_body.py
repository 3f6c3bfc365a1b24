"""Bodies that json.loads alone would turn into a 500: refused with a 400, a reason and one log line."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask.testing import FlaskClient

from skill import json_body
from skill.json_body import MAX_DEPTH, BodyError
from tests.envelopes import Envelopes

HOSTILE = {
    "a 5,000-digit integer": (b'{"n": ' + b"7" * 5000 + b"}", "integer has more than"),
    "a negative 5,000-digit integer": (b'{"n": -' + b"7" * 5000 + b"}", "integer has more than"),
    "an array nested 3,000 deep": (b"[" * 3000 + b"]" * 3000, "nested deeper than"),
    "an object nested 3,000 deep": (b'{"a":' * 3000 + b"1" + b"}" * 3000, "nested deeper than"),
    "nesting past the limit by one": (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nested deeper"),
    "NaN": (b'{"n": NaN}', "NaN is not JSON"),
    "-Infinity": (b'{"n": -Infinity}', "-Infinity is not JSON"),
    "a float that overflows": (b'{"n": 1e999}', "out of range"),
    "a lone surrogate": (b'{"s": "\\ud800"}', "lone surrogate"),
    "a lone surrogate in a key": (b'{"\\udc00": 1}', "lone surrogate"),
    "not UTF-8": (b'{"s": "\xff"}', "not UTF-8"),
    "a syntax error": (b'{"s": ', "not valid JSON"),
    # json.loads refuses a leading byte order mark; so does the parser's own decoder.
    "a UTF-8 byte order mark": (b'\xef\xbb\xbf{"s": 1}', "Unexpected UTF-8 BOM"),
}


@pytest.mark.parametrize("body, reason", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bodies_are_a_body_error(body: bytes, reason: str) -> None:
    with pytest.raises(BodyError) as refused:
        json_body.parse(body)
    assert reason in refused.value.reason


@pytest.mark.parametrize("body, reason", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bodies_get_400_and_one_log_line(
    client: FlaskClient, body: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="skill.endpoint"):
        response = client.post("/alexa", data=body, content_type="application/json")
    assert response.status_code == 400
    assert reason in response.get_json()["error"]
    refusals = [r for r in caplog.records if "refused request" in r.getMessage()]
    assert len(refusals) == 1
    assert "\n" not in refusals[0].getMessage() and len(refusals[0].getMessage()) < 300


def test_limits_leave_real_envelopes_and_their_numbers_alone(envelopes: Envelopes) -> None:
    envelope: dict[str, Any] = envelopes.launch()
    envelope["request"]["offsetInMilliseconds"] = 2**63 - 1
    envelope["request"]["ratio"] = -1.5e300
    envelope["session"]["attributes"] = {"nested": [[[{"deep": "\U0001f600"}]]]}
    body = json.dumps(envelope).encode()  # ensure_ascii: the emoji travels as an escaped pair
    assert b"\\ud83d\\ude00" in body
    assert json_body.parse(body) == envelope


def test_nesting_at_the_limit_is_accepted_and_brackets_inside_strings_do_not_count() -> None:
    assert json_body.parse(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    inside_strings = json.dumps({"s": "[" * 5000, "t": '{\\"' * 500}).encode()
    assert json_body.parse(inside_strings)["s"] == "[" * 5000


@pytest.mark.parametrize(
    "body",
    [
        b'"' + b'\\"' * 30_000,  # an unterminated string of escaped quotes
        b'["\\' + b"[" * 70,  # a string ending on a lone backslash, then brackets
        b'"' * 50_000 + b"[" * 100,
    ],
)
def test_unterminated_strings_are_refused_not_rescanned(body: bytes) -> None:
    with pytest.raises(BodyError):
        json_body.parse(body)
