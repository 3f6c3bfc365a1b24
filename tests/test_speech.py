"""SSML building: escaping, holds split into breaks Alexa accepts, and the length estimate."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from skill import speech

BREAK = re.compile(r'<break time="(\d+(?:\.\d+)?)s"/>')


def test_escape_handles_the_five_xml_specials() -> None:
    assert speech.escape("""Tom & Jerry's <"best">""") == "Tom &amp; Jerry&apos;s &lt;&quot;best&quot;&gt;"


@pytest.mark.parametrize(
    "seconds, breaks",
    [
        (0, []),
        (-3, []),
        (4, ["4"]),
        (10, ["10"]),
        (25, ["10", "10", "5"]),
        (30, ["10", "10", "10"]),
        (2.5, ["2.5"]),
    ],
)
def test_pause_splits_into_breaks_of_at_most_ten_seconds(seconds: float, breaks: list[str]) -> None:
    assert BREAK.findall(speech.pause(seconds)) == breaks


def test_a_thirty_second_hold_is_three_ten_second_breaks_with_the_cue_before_the_last() -> None:
    held = speech.hold(30, cue="Ten more seconds.")
    assert BREAK.findall(held) == ["10", "10", "10"]
    before, after = held.split("Ten more seconds.")
    assert BREAK.findall(before) == ["10", "10"]
    assert BREAK.findall(after) == ["10"]
    assert speech.break_seconds(held) == 30


def test_a_hold_without_a_cue_or_too_short_for_one_is_just_silence() -> None:
    assert speech.hold(20) == speech.pause(20)
    assert speech.hold(8, cue="Ten more seconds.") == speech.pause(8)


def test_speak_wraps_fragments_into_one_valid_document() -> None:
    ssml = speech.speak(" Hello. ", "", speech.pause(12), speech.escape("Salt & water."))
    root = ET.fromstring(ssml)
    assert root.tag == "speak"
    assert ssml == '<speak>Hello. <break time="10s"/><break time="2s"/> Salt &amp; water.</speak>'


def test_plain_drops_tags_and_decodes_entities() -> None:
    assert speech.plain('<speak>Tom &amp; Jerry <break time="3s"/>  ran.</speak>') == "Tom & Jerry ran."


def test_break_seconds_reads_seconds_and_milliseconds() -> None:
    assert speech.break_seconds('<break time="10s"/><break time="500ms"/>') == 10.5


def test_estimate_counts_words_at_the_speaking_rate_plus_breaks() -> None:
    ten_words = " ".join(["word"] * 10)
    assert speech.word_count(f"<speak>{ten_words}</speak>") == 10
    assert speech.estimate_seconds(ten_words) == 10 / speech.WORDS_PER_SECOND
    assert speech.estimate_seconds(ten_words + speech.pause(30)) == 10 / speech.WORDS_PER_SECOND + 30
