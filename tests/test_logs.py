"""The shared log helpers: untrusted text cannot forge or flood a line; users are named by hash."""

from __future__ import annotations

import contextvars
import logging

import pytest

from scheduler.logs import NO_VALUE, ContextFilter, about, log_context, request_id_from, safe, user_ref


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


def test_the_filter_names_the_contexts_user_or_the_one_a_line_is_about() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("test.context")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def lines() -> None:
        with log_context(request_id="tick-1", user=user_ref("amzn1.ask.account.A")):
            logger.info("about the context's user")
            logger.info("about another", extra=about("amzn1.ask.account.B"))
            with log_context(user=NO_VALUE):
                logger.info("about nobody")
        logger.info("outside")

    try:
        # A fresh context: a request handled earlier on this thread leaves its values bound.
        contextvars.Context().run(lines)
    finally:
        logger.removeHandler(handler)
    seen = [(r.request_id, r.user) for r in records]  # type: ignore[attr-defined]
    assert seen == [
        ("tick-1", user_ref("amzn1.ask.account.A")),
        ("tick-1", user_ref("amzn1.ask.account.B")),
        ("tick-1", NO_VALUE),
        (NO_VALUE, NO_VALUE),
    ]


def test_request_ids_from_outside_are_kept_only_when_plain() -> None:
    assert request_id_from("caddy-1.2:3") == "caddy-1.2:3"
    for bad in (None, "", "a b", "x" * 65, "id\nforged"):
        made = request_id_from(bad)
        assert made != bad and len(made) == 12
