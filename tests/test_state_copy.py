"""The state kept as read (to tell at the end whether a handler changed it) is a full copy."""

from __future__ import annotations

import copy
import json
from typing import Any

from skill.interceptors import _copy_json

STATE: dict[str, Any] = json.loads(
    '{"routine_step": 2, "habit": {"nights": ["2026-11-01", "2026-11-02"], "zone": "Europe/Berlin"},'
    ' "disclaimer_heard": true, "score": 1.5, "nothing": null, "lists": [[1, {"a": []}]]}'
)


def _containers(value: Any) -> list[Any]:
    found = [value] if isinstance(value, dict | list) else []
    for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        found.extend(_containers(item))
    return found


def test_the_copy_equals_deepcopy_and_shares_no_container() -> None:
    copied = _copy_json(STATE)
    assert copied == copy.deepcopy(STATE) == STATE
    originals = {id(c) for c in _containers(STATE)}
    assert not originals & {id(c) for c in _containers(copied)}
    copied["habit"]["nights"].append("2026-11-03")
    assert copied != STATE
