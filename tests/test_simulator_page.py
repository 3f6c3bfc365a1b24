"""The simulator page in a real headless Chromium (Debian's package, driven by Playwright): a
question, two routine steps, a reminder set and listed, through the real /alexa endpoint on a real
server on 127.0.0.1, with the browser's own time zone answered by the page's Settings API stand-in.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from scheduler.db import make_engine, make_session_factory
from scheduler.service import ReminderService
from skill import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_ZONE = "Europe/Berlin"
# Where to keep the screenshot for the README (set it to refresh docs/simulator.png).
SCREENSHOT_ENV = "CRAMP_SIMULATOR_SCREENSHOT"


@pytest.fixture
def server(sqlite_url: str) -> Iterator[str]:
    app = create_app({"DATABASE_URL": sqlite_url, "ALEXA_VERIFY_REQUESTS": "false"})
    httpd: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            timezone_id=BROWSER_ZONE,
            locale="en-US",
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def say(page: Any, phrase: str) -> str:
    """Type a phrase, wait for the skill's answer bubble, return its text."""
    answers = page.locator("#conversation .turn.alexa, #conversation .turn.error")
    before = answers.count()
    page.fill("#phrase", phrase)
    page.click("#send")
    page.wait_for_function(
        "n => document.querySelectorAll('#conversation .turn.alexa, #conversation .turn.error').length > n",
        arg=before,
    )
    last = answers.nth(before)
    assert "error" not in (last.get_attribute("class") or ""), last.inner_text()
    return str(last.inner_text())


def test_a_conversation_in_the_browser(server: str, page: Any, sqlite_url: str, tmp_path: Path) -> None:
    page.goto(f"{server}/simulator")
    assert page.locator("#zone").inner_text() == BROWSER_ZONE

    answer = say(page, "what is a leg cramp")
    assert page.locator("#intent").inner_text() == "WhatIsCrampIntent"
    assert "cramp" in answer.lower()

    first_step = say(page, "start the routine")
    assert page.locator("#intent").inner_text() == "StartRoutineIntent"
    assert page.locator("#session-state").inner_text().startswith("open")
    second_step = say(page, "next")
    assert page.locator("#intent").inner_text() == "AMAZON.NextIntent"
    # The first stretch, its holds shown as the pauses Alexa would leave.
    assert "(pause" in second_step and second_step != first_step

    set_answer = say(page, "remind me to stretch at nine thirty pm")
    assert page.locator("#intent").inner_text() == "SetReminderIntent"
    time_row = page.locator("#slots tbody tr", has_text="nine thirty pm")
    assert time_row.locator("td").nth(2).inner_text() == "21:30"
    # The skill says the time and days and waits for a yes before it sets anything.
    assert "9:30" in set_answer and "?" in set_answer
    agreed = say(page, "yes")
    assert page.locator("#intent").inner_text() == "AMAZON.YesIntent"
    assert "9:30" in agreed
    shot = tmp_path / "simulator.png"
    page.screenshot(path=str(shot))

    listed = say(page, "what reminders do I have")
    assert page.locator("#intent").inner_text() == "ListRemindersIntent"
    assert "9:30" in listed

    # What the skill stored, in the zone the browser reported through the Settings API stand-in.
    user_id = page.locator("#user-id").inner_text()
    engine = make_engine(sqlite_url)
    try:
        (stored,) = ReminderService(make_session_factory(engine)).list(user_id)
    finally:
        engine.dispose()
    assert (stored.kind, stored.local_time.strftime("%H:%M"), stored.time_zone) == (
        "stretch",
        "21:30",
        BROWSER_ZONE,
    )

    assert shot.stat().st_size > 10_000
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])


def test_the_page_is_not_served_when_verification_is_on(make_app: Any) -> None:
    app: Flask = make_app(ALEXA_VERIFY_REQUESTS="true")
    client = app.test_client()
    for path in (
        "/simulator",
        "/simulator/static/simulator.js",
        "/simulator/api/v2/devices/d/settings/System.timeZone",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post("/simulator/turn", json={}).status_code == 404
