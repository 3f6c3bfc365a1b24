"""One simulated turn: the typed phrase resolved through the project's interaction model, and the
request envelope Alexa would send for it.

Resolution is ``interaction_models.matcher`` (virtual-alexa's rules, in Python) on the packaged
model for the locale, with Alexa's own steps added where a matcher only has words: a phrase that
names the invocation ("open cramp coach", "ask cramp coach why ...") opens the skill, an answer to
a slot the skill elicited is matched against that slot's samples first, AMAZON.TIME words become
"21:30", and custom slot values carry entity-resolution ids. The envelope is built here and posted
to /alexa by the page, unchanged, as Alexa would post it.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from interaction_models.matcher import Match, Matcher, clean
from skill.simulator.alexa_time import alexa_time

LOCALES = ("en-US", "en-GB", "en-CA", "en-AU", "en-IN")
NOTIFICATIONS_SCOPE = "alexa::devices:all:notifications:write"
TIME_TYPE = "AMAZON.TIME"
FALLBACK = "AMAZON.FallbackIntent"
_OPENERS = r"(?:open|launch|start|talk to|ask|tell|use)"


class TurnError(ValueError):
    """A phrase the simulator cannot turn into what Alexa would send; the message is for the page."""


@dataclass(frozen=True)
class Model:
    """One locale's interaction model: the matcher, and what an envelope needs from the model."""

    locale: str
    invocation: str
    matcher: Matcher
    language: dict[str, Any]
    # type name -> value id -> the value's canonical name
    names: dict[str, dict[str, str]]

    def slots_of(self, intent: str) -> dict[str, str]:
        """The declared slots of an intent: name -> type."""
        for declared in self.language["intents"]:
            if declared["name"] == intent:
                return {slot["name"]: slot["type"] for slot in declared.get("slots", [])}
        return {}

    def slot_samples(self, intent: str, slot: str) -> list[str]:
        for declared in self.language["intents"]:
            if declared["name"] == intent:
                for found in declared.get("slots", []):
                    if found["name"] == slot:
                        return list(found.get("samples", []))
        return []


@cache
def model(locale: str) -> Model:
    if locale not in LOCALES:
        raise TurnError(f"unknown locale {locale!r}; one of {', '.join(LOCALES)}")
    data = json.loads(resources.files("interaction_models").joinpath(f"{locale}.json").read_text("utf-8"))
    language = data["interactionModel"]["languageModel"]
    names = {
        slot_type["name"]: {value["id"]: value["name"]["value"] for value in slot_type.get("values", [])}
        for slot_type in language.get("types", [])
    }
    return Model(locale, language["invocationName"].lower(), Matcher(data), language, names)


@dataclass
class Resolved:
    """What the phrase resolved to: the request type, the intent and its slots as Alexa sends them."""

    request_type: str
    intent: str | None = None
    sample: str | None = None
    # slot name -> the words heard; -> the value sent (AMAZON.TIME converted); -> resolved id
    heard: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _times(found: Model, intent: str, heard: dict[str, str]) -> dict[str, str]:
    types = found.slots_of(intent)
    values: dict[str, str] = {}
    for name, words in heard.items():
        if types.get(name) == TIME_TYPE and words:
            converted = alexa_time(words)
            if converted is None:
                raise TurnError(
                    f'"{words}" is not a time the simulator can read the way Alexa would; '
                    'try "nine thirty pm" or "21:30"'
                )
            values[name] = converted
        else:
            values[name] = words
    return values


def _from_match(found: Model, match: Match, note: str | None = None) -> Resolved:
    return Resolved(
        "IntentRequest",
        match.intent,
        match.sample,
        dict(match.slots),
        _times(found, match.intent, dict(match.slots)),
        dict(match.resolved),
        note,
    )


def _elicited(found: Model, elicit: dict[str, Any], phrase: str) -> Match | None:
    """An answer to an elicited slot, matched against that slot's own samples (as Alexa does)."""
    intent, slot = str(elicit.get("intent") or ""), str(elicit.get("slot") or "")
    samples = found.slot_samples(intent, slot)
    if not samples:
        return None
    declared = [{"name": n, "type": t} for n, t in found.slots_of(intent).items()]
    only = Matcher(
        {
            "intents": [{"name": intent, "slots": declared, "samples": samples}],
            "types": found.language["types"],
        },
        built_in_phrases=False,
    )
    match = only.match(phrase)
    if match is None:
        return None
    # A time slot only takes words that are a time, so "stop" still goes to AMAZON.StopIntent.
    if found.slots_of(intent).get(slot) == TIME_TYPE and alexa_time(match.slots.get(slot, "")) is None:
        return None
    return match


def resolve(phrase: str, locale: str = "en-US", elicit: dict[str, Any] | None = None) -> Resolved:
    """The request Alexa would send for ``phrase`` (typed or recognised speech)."""
    found = model(locale)
    text = " ".join(clean(phrase).split())
    if not text:
        raise TurnError("say something first")
    opener = re.fullmatch(
        rf"(?:alexa )?{_OPENERS} {re.escape(found.invocation)}(?: (?:to|for|about|if|whether))?(?: (.*))?",
        text,
        re.IGNORECASE,
    )
    if opener:
        if not opener.group(1):
            return Resolved("LaunchRequest")
        text = opener.group(1)
    if elicit:
        answered = _elicited(found, elicit, text)
        if answered is not None:
            return _from_match(found, answered)
    match = found.matcher.match(text)
    if match is None:
        # Alexa sends FallbackIntent for words no sample covers; a matcher would refuse them.
        return Resolved("IntentRequest", FALLBACK, note="no sample utterance matches these words")
    return _from_match(found, match)


def _slot(found: Model, intent: str, name: str, slot_type: str, turn: Resolved, kept: dict[str, Any]) -> Any:
    if name in turn.values:
        value: str | None = turn.values[name]
        value_id = turn.ids.get(name)
    else:
        # A slot filled on an earlier turn of the same dialog (from the skill's updatedIntent).
        found_earlier = kept.get(name)
        earlier: dict[str, Any] = found_earlier if isinstance(found_earlier, dict) else {}
        value = earlier.get("value") if isinstance(earlier.get("value"), str) else None
        value_id = None
        resolutions = earlier.get("resolutions")
        if isinstance(resolutions, dict):
            return {"name": name, "value": value, "confirmationStatus": "NONE", "resolutions": resolutions}
    slot: dict[str, Any] = {"name": name, "confirmationStatus": "NONE"}
    if value is None:
        return slot
    slot["value"] = value
    if value_id is not None:
        slot["resolutions"] = {
            "resolutionsPerAuthority": [
                {
                    "authority": f"amzn1.er-authority.echo-sdk.simulator.{slot_type}",
                    "status": {"code": "ER_SUCCESS_MATCH"},
                    "values": [
                        {
                            "value": {
                                "name": found.names.get(slot_type, {}).get(value_id, value),
                                "id": value_id,
                            }
                        }
                    ],
                }
            ]
        }
    return slot


@dataclass(frozen=True)
class Caller:
    """Who is talking, from where: the page's user, device, session and settings."""

    skill_id: str
    user_id: str
    device_id: str
    api_endpoint: str
    api_token: str
    locale: str
    notifications: bool
    session_id: str | None
    session_new: bool
    attributes: dict[str, Any]


def envelope(
    turn: Resolved, caller: Caller, now: datetime, dialog_slots: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The request envelope Alexa would send for this turn; ``dialog_slots`` continue an elicited dialog."""
    user: dict[str, Any] = {"userId": caller.user_id}
    if caller.notifications:
        user["permissions"] = {
            "consentToken": "simulator-consent",
            "scopes": {NOTIFICATIONS_SCOPE: {"status": "GRANTED"}},
        }
    application = {"applicationId": caller.skill_id}
    request: dict[str, Any] = {
        "type": turn.request_type,
        "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "locale": caller.locale,
    }
    if turn.request_type == "IntentRequest" and turn.intent:
        found = model(caller.locale)
        kept = dialog_slots or {}
        slots = {
            name: _slot(found, turn.intent, name, slot_type, turn, kept)
            for name, slot_type in found.slots_of(turn.intent).items()
        }
        request["intent"] = {"name": turn.intent, "confirmationStatus": "NONE", "slots": slots}
        if dialog_slots is not None:
            request["dialogState"] = "IN_PROGRESS"
    session_id = caller.session_id or f"amzn1.echo-api.session.{uuid.uuid4()}"
    return {
        "version": "1.0",
        "session": {
            "new": caller.session_id is None or caller.session_new,
            "sessionId": session_id,
            "application": application,
            "attributes": caller.attributes,
            "user": user,
        },
        "context": {
            "System": {
                "application": application,
                "user": user,
                "device": {"deviceId": caller.device_id, "supportedInterfaces": {}},
                "apiEndpoint": caller.api_endpoint,
                "apiAccessToken": caller.api_token,
            }
        },
        "request": request,
    }
