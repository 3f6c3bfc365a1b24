"""A request body read as JSON, within bounds that no real Alexa request comes near.

``json.loads`` has no limits of its own: an integer of more than 4,300 digits raises ``ValueError``
(Python's int/str conversion limit) and an array nested a few thousand deep raises
``RecursionError``, so either would be a 500 before any verification. Here nesting is measured
before ``json.loads`` runs, numbers are checked as they are parsed, and every way a body can be
malformed is one :class:`BodyError` whose reason is short, fixed text: safe to log and to send back.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_INTEGER_DIGITS", "BodyError", "parse"]

# An Alexa request nests about eight deep; the skill's own session attributes are flat.
MAX_DEPTH = 64
# Alexa sends small counts and offsets; 32 digits is far past any 64-bit value.
MAX_INTEGER_DIGITS = 32

# A string token (always matches from a quote, even unterminated, so the scan stays linear) or one
# bracket. Possessive quantifiers: a failed string must never be retried from inside itself.
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.?)*+"?|[\[\]{}]', re.DOTALL)
_OPENERS = (b"[", b"{")
_CLOSERS = (b"]", b"}")
# A \uD800-\uDFFF escape somewhere: only then can a decoded string hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class BodyError(ValueError):
    """The body is not one well-formed, bounded JSON document; ``reason`` says why, in fixed words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Refused(Exception):
    """Raised from inside the parse hooks; json.loads passes it through untouched."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"an integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("a number is out of range")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


# One decoder for every body: json.loads given hooks builds a new JSONDecoder per call.
_DECODER = json.JSONDecoder(parse_int=_integer, parse_float=_float, parse_constant=_constant)


def parse(body: bytes) -> Any:
    """The JSON document in ``body`` (UTF-8), or :class:`BodyError`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("body is not valid JSON: not UTF-8") from None
    # Counting brackets is a bound on the depth; only a body with many of them is scanned.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH:
        _check_depth(body)
    try:
        if text.startswith("\ufeff"):
            # What json.loads itself refuses before decoding a str.
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        document = _DECODER.decode(text)
    except _Refused as exc:
        raise BodyError(f"body is not valid JSON: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        # exc.msg is json's own fixed wording; the position is numbers only.
        raise BodyError(f"body is not valid JSON: {exc.msg} at offset {exc.pos}") from None
    except (ValueError, RecursionError):
        # Not expected after the checks above; still a bad body, never a 500.
        raise BodyError("body is not valid JSON") from None
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(document):
        raise BodyError("body is not valid JSON: a string holds a lone surrogate")
    return document


def _check_depth(body: bytes) -> None:
    depth = 0
    for match in _TOKEN.finditer(body):
        token = match.group()
        if token in _OPENERS:
            depth += 1
            if depth > MAX_DEPTH:
                raise BodyError(f"body is not valid JSON: nested deeper than {MAX_DEPTH} levels")
        elif token in _CLOSERS:
            depth -= 1


def _has_lone_surrogate(document: Any) -> bool:
    """Whether any key or string holds a surrogate that is not half of a pair (not valid Unicode)."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if not _encodable(key):
                    return True
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and not _encodable(node):
            return True
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
