"""The shared log helpers: untrusted text cannot forge or flood a line; users are named by hash."""

from __future__ import annotations

import logging

import pytest

from scheduler.logs import safe, user_ref


@pytest.mark.parametrize(
    "raw",
    [
        "amzn1.echo-api.request.1\nERROR forged line",
        "a\rb",
        "tab\there",
        "nul\x00and\x01bell\x07",
        "lone \ud800 surrogate",
        "escape \x1b[31m red",
        "line\u2028separator",
    ],
)
def test_safe_leaves_no_control_character(raw: str) -> None:
    out = safe(raw)
    assert "\n" not in out and "\r" not in out
    assert all(ch.isprintable() for ch in out), out
    out.encode("utf-8")  # no lone surrogate survives, so any handler can write the line


def test_safe_keeps_ordinary_text_as_it_is() -> None:
    assert safe("amzn1.echo-api.request.abc-123") == "amzn1.echo-api.request.abc-123"
    assert safe("crème brûlée") == "crème brûlée"


def test_safe_escapes_backslashes_so_escapes_cannot_be_faked() -> None:
    assert safe("\\n") == "\\\\n"
    assert safe("\n") == "\\x0a"


def test_safe_cuts_long_values_and_says_how_long_they_were() -> None:
    out = safe("x" * 60_000)
    assert len(out) < 200
    assert out.endswith("(60000 chars)")


def test_safe_logged_through_logging_is_one_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("refused request %s", safe("id\nCRITICAL fake"))
    assert caplog.text.count("\n") == 1


def test_user_ref_is_short_stable_and_distinct() -> None:
    one, other = "amzn1.ask.account.AAA", "amzn1.ask.account.BBB"
    assert user_ref(one) == user_ref(one)
    assert user_ref(one) != user_ref(other)
    assert user_ref(one).startswith("u-") and len(user_ref(one)) == 14
    assert one not in user_ref(one)
    assert user_ref(None) == user_ref("") == "u-none"
    assert user_ref("lone \ud800").startswith("u-")
