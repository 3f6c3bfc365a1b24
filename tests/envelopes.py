"""Real Alexa request envelopes, shaped like the ones Alexa sends, for tests over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any


class Envelopes:
    SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-00000000c0c0"
    USER_ID = "amzn1.ask.account.TESTUSER"
    DEVICE_ID = "amzn1.ask.device.TESTDEVICE"

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
        self.new_session = True
        # A closed loopback port: a handler that calls an Alexa API gets a refused connection, never
        # Amazon. Tests that need answers point this at the stub (tests/stubs/alexa_api.py).
        self.api_endpoint = "http://127.0.0.1:9"
        self.permissions: dict[str, Any] | None = None
        # What the device supports, as Alexa lists it ({"Alexa.Presentation.APL": {...}} on a screen).
        self.supported_interfaces: dict[str, Any] = {}
        self.api_access_token = "test-access-token"

    def _timestamp(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")

    def envelope(
        self,
        request: Mapping[str, Any],
        *,
        session_attributes: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        locale: str = "en-US",
        new: bool | None = None,
        with_session: bool = True,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"userId": user_id or self.USER_ID}
        if self.permissions is not None:
            user["permissions"] = self.permissions
        system = {
            "application": {"applicationId": self.SKILL_ID},
            "user": user,
            "device": {"deviceId": self.DEVICE_ID, "supportedInterfaces": dict(self.supported_interfaces)},
            "apiEndpoint": self.api_endpoint,
            "apiAccessToken": self.api_access_token,
        }
        body: dict[str, Any] = {
            "version": "1.0",
            "context": {"System": system},
            "request": {
                "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
                "timestamp": self._timestamp(),
                "locale": locale,
                **request,
            },
        }
        if with_session:
            body["session"] = {
                "new": self.new_session if new is None else new,
                "sessionId": self.session_id,
                "application": {"applicationId": self.SKILL_ID},
                "attributes": dict(session_attributes or {}),
                "user": user,
            }
            self.new_session = False
        return body

    def launch(self, **kw: Any) -> dict[str, Any]:
        return self.envelope({"type": "LaunchRequest"}, **kw)

    def intent(
        self,
        name: str,
        slots: Mapping[str, str | None] | None = None,
        *,
        resolved: Mapping[str, str] | None = None,
        dialog_state: str | None = None,
        confirmation: str = "NONE",
        **kw: Any,
    ) -> dict[str, Any]:
        """An IntentRequest; ``resolved`` maps a slot to the custom-type id Alexa resolved it to."""
        slot_objs: dict[str, Any] = {}
        for slot, value in (slots or {}).items():
            obj: dict[str, Any] = {"name": slot, "confirmationStatus": "NONE"}
            if value is not None:
                obj["value"] = value
            if resolved and slot in resolved:
                obj["resolutions"] = {
                    "resolutionsPerAuthority": [
                        {
                            "authority": f"amzn1.er-authority.echo-sdk.{self.SKILL_ID}.TYPE",
                            "status": {"code": "ER_SUCCESS_MATCH"},
                            "values": [{"value": {"name": value, "id": resolved[slot]}}],
                        }
                    ]
                }
            slot_objs[slot] = obj
        request: dict[str, Any] = {
            "type": "IntentRequest",
            "intent": {"name": name, "confirmationStatus": confirmation, "slots": slot_objs},
        }
        if dialog_state:
            request["dialogState"] = dialog_state
        return self.envelope(request, **kw)

    def session_ended(self, reason: str = "USER_INITIATED", **kw: Any) -> dict[str, Any]:
        return self.envelope({"type": "SessionEndedRequest", "reason": reason}, **kw)

    def can_fulfill(self, name: str, slots: Mapping[str, str] | None = None, **kw: Any) -> dict[str, Any]:
        slot_objs = {k: {"name": k, "value": v} for k, v in (slots or {}).items()}
        return self.envelope(
            {"type": "CanFulfillIntentRequest", "intent": {"name": name, "slots": slot_objs}}, **kw
        )

    def exception_encountered(self, **kw: Any) -> dict[str, Any]:
        return self.envelope(
            {
                "type": "System.ExceptionEncountered",
                "error": {"type": "INVALID_RESPONSE", "message": "bad directive"},
                "cause": {"requestId": "amzn1.echo-api.request.previous"},
            },
            with_session=False,
            **kw,
        )

    def skill_event(
        self, event_type: str, body: Mapping[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"type": event_type, "eventCreationTime": self._timestamp()}
        if body is not None:
            request["body"] = dict(body)
        return self.envelope(request, with_session=False, **kw)


def speech_of(response_json: Mapping[str, Any]) -> str:
    return str(response_json["response"]["outputSpeech"]["ssml"])


def reprompt_of(response_json: Mapping[str, Any]) -> str | None:
    reprompt = response_json["response"].get("reprompt")
    return None if reprompt is None else str(reprompt["outputSpeech"]["ssml"])


def said(response_json: Mapping[str, Any]) -> str:
    """The spoken words of a response, SSML tags dropped and entities decoded."""
    from skill.speech import plain

    return plain(speech_of(response_json))
