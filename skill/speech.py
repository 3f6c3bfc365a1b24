"""SSML building, in one place: escaping, timed holds, and the plain text for cards."""

from __future__ import annotations

import html
import re
from xml.sax.saxutils import escape as _xml_escape

# Alexa refuses a <break> longer than 10 s, so longer holds are built from several.
MAX_BREAK_SECONDS = 10
# Alexa refuses outputSpeech longer than this (the whole <speak> document).
MAX_SPEECH_CHARS = 8000
# A comfortable speaking rate for Alexa's voice, used to keep first answers short.
WORDS_PER_SECOND = 2.5

_TAG = re.compile(r"<[^>]+>")
# What XML 1.0 does not allow in a document at all (C0 controls but tab, CR and LF; surrogates;
# U+FFFE and U+FFFF): escaping cannot make these well-formed, so they are dropped.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BREAK = re.compile(r'<break\s+time="(\d+(?:\.\d+)?)(ms|s)"\s*/>')


class SpeechTooLong(ValueError):
    """A <speak> document past Alexa's limit; the skill's error handler apologises instead."""


def escape(text: str) -> str:
    """Text made safe for SSML: characters XML forbids dropped, the five XML specials escaped."""
    return _xml_escape(_NOT_XML.sub("", text), {'"': "&quot;", "'": "&apos;"})


def pause(seconds: float) -> str:
    """A silence of ``seconds``, as as many <break> tags as Alexa's 10 s limit needs."""
    if seconds <= 0:
        return ""
    parts: list[str] = []
    remaining = float(seconds)
    while remaining > 0:
        chunk = min(remaining, MAX_BREAK_SECONDS)
        parts.append(f'<break time="{_fmt(chunk)}s"/>')
        remaining -= chunk
    return "".join(parts)


def hold(seconds: float, *, cue: str = "", cue_before_end: float = MAX_BREAK_SECONDS) -> str:
    """A timed hold: silence for ``seconds`` with an optional SSML ``cue`` spoken near the end.

    The cue ("ten more seconds") goes ``cue_before_end`` seconds before the end, so the person holding
    a stretch knows it is nearly over; the silences on either side still add up to ``seconds``.
    """
    if not cue or seconds <= cue_before_end:
        return pause(seconds)
    return f"{pause(seconds - cue_before_end)} {cue} {pause(cue_before_end)}"


def word_count(ssml: str) -> int:
    """Spoken words in an SSML fragment (tags and breaks left out)."""
    return len(plain(ssml).split())


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def speak(*fragments: str) -> str:
    """Join SSML fragments (already escaped) into one <speak> document."""
    body = " ".join(f.strip() for f in fragments if f and f.strip())
    document = f"<speak>{body}</speak>"
    if len(document) > MAX_SPEECH_CHARS:
        raise SpeechTooLong(f"speech of {len(document)} characters, over Alexa's {MAX_SPEECH_CHARS}")
    return document


def plain(ssml: str) -> str:
    """The words of an SSML fragment, for a card: tags dropped, entities decoded, spaces tidied."""
    text = _TAG.sub(" ", ssml)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def break_seconds(ssml: str) -> float:
    total = 0.0
    for amount, unit in _BREAK.findall(ssml):
        total += float(amount) / (1000 if unit == "ms" else 1)
    return total


def estimate_seconds(ssml: str) -> float:
    """Rough spoken length: words at Alexa's pace plus explicit breaks."""
    return word_count(ssml) / WORDS_PER_SECOND + break_seconds(ssml)
