"""The ask-sdk serializer, with the two costs of reading a request envelope taken out.

The SDK's ``DefaultSerializer`` parses every datetime field (``request.timestamp`` on every
request) with ``dateutil.parser.parse``, a general-purpose parser that is by far the slowest step of
building the envelope; and its ``deserialize`` takes JSON text, so a view that has already parsed
the body to verify it would parse it twice. This subclass keeps the SDK's models and all of its
mapping rules, and changes only that:

* datetimes are read with ``datetime.fromisoformat`` (Alexa sends ISO 8601, e.g.
  ``2026-11-05T21:30:00Z``), falling back to the SDK's own parser for anything else, so no value
  that the SDK accepted is refused;
* the model classes, which the SDK looks up by dotted name (an ``__import__``) for every object
  of every request, are looked up once per name;
* ``envelope(payload)`` builds a ``RequestEnvelope`` from the already-parsed JSON object.

On the way out it passes a ``JsonReady`` value (an APL document read from its file) through
whole, instead of copying it node by node as the SDK does for every plain dict.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

# The SDK's private hooks that this class relies on; tests check they still exist, so an SDK
# release that renames them fails loudly instead of quietly going back to the slow path.
DATETIME_HOOK = "_DefaultSerializer__deserialize_datetime"
CLASS_HOOK = "_DefaultSerializer__load_class_from_name"
MODEL_HOOK = "_DefaultSerializer__deserialize"


class JsonReady(dict[str, Any]):
    """A dict already in its JSON form, shared and never changed: the serializer sends it as is."""


class EnvelopeSerializer(DefaultSerializer):
    def __init__(self) -> None:
        super().__init__()
        # Dotted class name -> class. Filled on first use; a racing fill stores the same class.
        self._classes: dict[str, Any] = {}

    def _DefaultSerializer__load_class_from_name(self, class_name: str) -> Any:
        found = self._classes.get(class_name)
        if found is None:
            found = self._classes[class_name] = getattr(super(), CLASS_HOOK)(class_name)
        return found

    def _DefaultSerializer__deserialize_datetime(self, payload: Any, obj_type: Any) -> Any:
        if isinstance(payload, str):
            try:
                parsed = datetime.fromisoformat(payload)
            except ValueError:
                pass
            else:
                return parsed.date() if obj_type is date else parsed
        slow = getattr(super(), DATETIME_HOOK)
        return slow(payload, obj_type)

    def serialize(self, obj: Any) -> Any:
        if isinstance(obj, JsonReady):
            return obj
        return super().serialize(obj)

    def envelope(self, payload: dict[str, Any]) -> RequestEnvelope:
        """The request envelope of an already-parsed body (raises SerializationException)."""
        build = getattr(self, MODEL_HOOK)
        envelope: RequestEnvelope = build(payload, RequestEnvelope)
        return envelope
