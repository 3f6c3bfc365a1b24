"""The endpoint's JSON answers are what Flask's jsonify would send, byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify

from skill.endpoint import json_response

VALUES: list[Any] = [
    {"version": "1.0", "response": {}},
    {"b": 1, "a": {"d": [1, 2.5, None, True], "c": 'Grüße \u2028 "quoted" </script>'}},
    {"error": "request body too large (over 131072 bytes)"},
    [],
    "text",
]


@pytest.mark.parametrize("value", VALUES)
def test_json_response_is_jsonify(app: Flask, value: Any) -> None:
    with app.app_context():
        ours, flasks = json_response(value), jsonify(value)
    assert ours.get_data() == flasks.get_data()
    assert ours.status == flasks.status
    assert sorted(ours.headers.items()) == sorted(flasks.headers.items())
