"""The ask-sdk serializer, with the mapping compiled once per model type instead of every request.

The SDK's ``DefaultSerializer`` reads a request envelope by reflection: for every object of every
request it parses the type string again (``'list[...]'``, a dotted class name), looks the class up
with ``__import__``, rebuilds the class's attribute map and walks it; datetime fields
(``request.timestamp`` on every request) go through ``dateutil.parser.parse``. Writing the
response walks each model's ``deserialized_types`` the same way. This subclass keeps the SDK's
models and every one of its mapping rules, and changes only when the work is done:

* each type spec (a type string or a class) is compiled once into a *reader*, a function that
  applies exactly the steps the SDK would take for that spec; a model's reader holds its fields'
  readers, so reading an envelope is a walk of plain dicts with no reflection left;
* each model class met on the way out is compiled once into a *writer* the same way;
* datetimes are read with ``datetime.fromisoformat`` (Alexa sends ISO 8601, e.g.
  ``2026-11-05T21:30:00Z``), falling back to the SDK's own parser for anything else, so no value
  that the SDK accepted is refused;
* model classes, looked up by dotted name, are looked up once per name;
* ``envelope(payload)`` builds a ``RequestEnvelope`` from the already-parsed JSON object;
* a ``JsonReady`` value (an APL document read from its file) is sent whole, not copied.

Only the ordinary case is compiled: a model read from a JSON object. Anything else (a model given
a string, a list or a number, as hostile bodies do) goes to the SDK's own code for that object, so
what it builds or refuses stays the SDK's answer. ``tests/test_serializer.py`` compares both on
every envelope the tests build and on mutated ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

# The SDK's private hooks that this class relies on; tests check they still exist, so an SDK
# release that renames them fails loudly instead of quietly going back to the slow path.
DATETIME_HOOK = "_DefaultSerializer__deserialize_datetime"
CLASS_HOOK = "_DefaultSerializer__load_class_from_name"
MODEL_HOOK = "_DefaultSerializer__deserialize"
SDK_MODEL_HOOK = "_DefaultSerializer__deserialize_model"

Reader = Callable[[Any], Any]
Writer = Callable[[Any], Any]

# The SDK's own patterns for container type strings.
_LIST = re.compile(r"list\[(.*)\]")
_DICT = re.compile(r"dict\(([^,]*), (.*)\)")
# Values a model's __init__ may leave in a fresh instance that can be shared between instances.
_IMMUTABLE = (type(None), str, int, float, bool, Enum)


class JsonReady(dict[str, Any]):
    """A dict already in its JSON form, shared and never changed: the serializer sends it as is."""


def _same(value: Any) -> Any:
    return value


class EnvelopeSerializer(DefaultSerializer):
    def __init__(self) -> None:
        super().__init__()
        # All three are filled on first use; a racing fill stores an equivalent entry.
        # Dotted class name -> class.
        self._classes: dict[str, Any] = {}
        # Type spec (a type string or a class) -> reader, as the SDK's __deserialize applies it.
        self._readers: dict[Any, Reader] = {}
        # Model class -> reader of a JSON object into that very class (no discriminator).
        self._models: dict[type, Reader] = {}
        # Exact type -> writer, as the SDK's serialize applies it.
        self._writers: dict[type, Writer] = {
            str: _same,
            int: _same,
            float: _same,
            bool: _same,
            bytes: _same,
            type(None): _same,
            JsonReady: _same,
            list: self._write_list,
            dict: self._write_dict,
        }
        self._sdk_model: Callable[[Any, Any], Any] = getattr(self, SDK_MODEL_HOOK)
        self._sdk_datetime: Callable[[Any, Any], Any] = getattr(super(), DATETIME_HOOK)

    # -- the SDK's hooks -----------------------------------------------------

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
        return self._sdk_datetime(payload, obj_type)

    def _DefaultSerializer__deserialize(self, payload: Any, obj_type: Any) -> Any:
        # Every read, the SDK's own recursion included, goes through the compiled readers.
        return self.reader(obj_type)(payload)

    # -- reading -------------------------------------------------------------

    def envelope(self, payload: dict[str, Any]) -> RequestEnvelope:
        """The request envelope of an already-parsed body (raises SerializationException)."""
        envelope: RequestEnvelope = self.reader(RequestEnvelope)(payload)
        return envelope

    def reader(self, obj_type: Any) -> Reader:
        """The function that reads a payload as the SDK reads it for ``obj_type``."""
        found = self._readers.get(obj_type)
        if found is None:
            found = self._readers[obj_type] = self._compile(obj_type)
        return found

    def _compile(self, obj_type: Any) -> Reader:
        # Mirrors DefaultSerializer.__deserialize step by step; every reader maps None to None.
        if isinstance(obj_type, str):
            if obj_type.startswith("list["):
                return self._list_reader(obj_type)
            if obj_type.startswith("dict("):
                return self._dict_reader(obj_type)
            if obj_type in self.NATIVE_TYPES_MAPPING:
                obj_type = self.NATIVE_TYPES_MAPPING[obj_type]
            else:
                try:
                    obj_type = self._DefaultSerializer__load_class_from_name(obj_type)
                except SerializationException as exc:
                    return _refusing(exc)
        if obj_type in self.PRIMITIVE_TYPES:
            return _primitive_reader(obj_type)
        if obj_type is object:
            return _same
        if obj_type in (date, datetime):
            read_datetime = self._DefaultSerializer__deserialize_datetime

            def read_when(payload: Any) -> Any:
                return None if payload is None else read_datetime(payload, obj_type)

            return read_when
        return self._model_reader(obj_type)

    def _list_reader(self, spec: str) -> Reader:
        match = _LIST.match(spec)
        if match is None:
            return lambda payload: None if payload is None else []
        inner = match.group(1)
        if "," in inner:
            readers = [self.reader(part.strip()) for part in inner.split(",")]
            return lambda payload: (
                None
                if payload is None
                else [read(item) for item, read in zip(payload, readers, strict=False)]
            )
        read = self.reader(inner.strip())
        return lambda payload: None if payload is None else [read(item) for item in payload]

    def _dict_reader(self, spec: str) -> Reader:
        match = _DICT.match(spec)
        if match is None:
            return lambda payload: None if payload is None else {}
        read = self.reader(match.group(2))
        return lambda payload: None if payload is None else {k: read(v) for k, v in payload.items()}

    def _model_reader(self, cls: Any) -> Reader:
        """Mirrors DefaultSerializer.__deserialize_model for ``cls``."""
        try:
            is_enum = issubclass(cls, Enum)
        except TypeError:
            return lambda payload: None if payload is None else self._sdk_model(payload, cls)
        if is_enum:

            def read_enum(payload: Any) -> Any:
                if payload is None:
                    return None
                try:
                    return cls(payload)
                except Exception as exc:
                    raise SerializationException(str(exc)) from exc

            return read_enum
        if not hasattr(cls, "deserialized_types"):
            return _same
        if not hasattr(cls, "get_real_child_model"):
            return self.model(cls)
        load = self._DefaultSerializer__load_class_from_name
        sdk_model = self._sdk_model

        def read_polymorphic(payload: Any) -> Any:
            if payload is None:
                return None
            if type(payload) is not dict:
                return sdk_model(payload, cls)
            try:
                name = cls.get_real_child_model(payload)
                if not name:
                    raise SerializationException(
                        f"Couldn't resolve object by discriminator type for {cls} class"
                    )
                read = self.model(load(name))
            except Exception as exc:
                raise SerializationException(str(exc)) from exc
            return read(payload)

        return read_polymorphic

    def model(self, cls: type) -> Reader:
        """The reader of a JSON object into ``cls`` itself (its discriminator already applied)."""
        found = self._models.get(cls)
        if found is None:
            found = self._models[cls] = self._compile_model(cls)
        return found

    def _compile_model(self, cls: Any) -> Reader:
        types: dict[str, Any] = cls.deserialized_types
        # The SDK adds the identity entries to the class's own map on every read; doing it here
        # leaves the class as the SDK would, and the order of the map is the SDK's order.
        attribute_map: dict[str, str] = getattr(cls, "attribute_map", {})
        attribute_map.update({k: k for k in types if k not in attribute_map})
        known = frozenset(attribute_map.values())
        template = _template(cls)
        sdk_model = self._sdk_model
        new = object.__new__
        # The fields' readers are compiled on first use: models refer to themselves (APL
        # components hold components), so compiling them here would never end.
        fields: list[tuple[str, str, Reader]] | None = None

        def read_model(payload: Any) -> Any:
            nonlocal fields
            if payload is None:
                return None
            if type(payload) is not dict:
                # Strings, lists and numbers where an object belongs: the SDK's own answer.
                return sdk_model(payload, cls)
            try:
                if fields is None:
                    fields = [(attr, key, self.reader(types[attr])) for attr, key in attribute_map.items()]
                if template is None:
                    obj = cls()
                    values = obj.__dict__
                else:
                    obj = new(cls)
                    values = obj.__dict__
                    values.update(template)
                for attr, key, read in fields:
                    if key in payload:
                        values[attr] = read(payload[key])
                for key in payload:
                    if key not in known:
                        setattr(obj, key, payload[key])
                return obj
            except Exception as exc:
                raise SerializationException(str(exc)) from exc

        return read_model

    # -- writing -------------------------------------------------------------

    def serialize(self, obj: Any) -> Any:
        write = self._writers.get(type(obj))
        if write is None:
            write = self._writers[type(obj)] = self._compile_writer(type(obj))
        return write(obj)

    def _write_list(self, obj: list[Any]) -> list[Any]:
        serialize = self.serialize
        return [serialize(item) for item in obj]

    def _write_dict(self, obj: dict[Any, Any]) -> dict[Any, Any]:
        serialize = self.serialize
        return {key: serialize(value) for key, value in obj.items()}

    def _compile_writer(self, cls: type) -> Writer:
        # Mirrors DefaultSerializer.serialize; its isinstance chain decides for subclasses.
        if issubclass(cls, self.PRIMITIVE_TYPES) or issubclass(cls, JsonReady):
            return _same
        if issubclass(cls, (list, tuple, datetime, date, Enum, Decimal, dict)) or not hasattr(
            cls, "deserialized_types"
        ):
            return super().serialize
        types: dict[str, Any] = cls.deserialized_types  # type: ignore[attr-defined]
        attribute_map: dict[str, str] = getattr(cls, "attribute_map", {})
        attribute_map.update({k: k for k in types if k not in attribute_map})
        fields = [(attr, attribute_map[attr]) for attr in types]
        serialize = self.serialize

        def write_model(obj: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for attr, key in fields:
                value = getattr(obj, attr)
                if value is not None:
                    out[key] = serialize(value)
            return out

        return write_model


def _primitive_reader(cls: Any) -> Reader:
    """Mirrors DefaultSerializer.__deserialize_primitive."""

    def read_primitive(payload: Any) -> Any:
        if payload is None:
            return None
        if type(payload) is cls:
            return payload  # str("x") is "x", int(3) is 3: nothing to convert
        try:
            return cls(payload)
        except UnicodeEncodeError:
            return str(payload)
        except TypeError:
            return payload
        except ValueError:
            raise SerializationException(f"Failed to parse {payload} into '{cls.__name__}' object") from None

    return read_primitive


def _refusing(exc: SerializationException) -> Reader:
    def refuse(payload: Any) -> Any:
        if payload is None:
            return None
        raise exc

    return refuse


def _template(cls: Any) -> dict[str, Any] | None:
    """What ``cls()`` leaves in a fresh instance, when it is the same every time and safe to share."""
    try:
        first, second = vars(cls()), vars(cls())
    except Exception:
        return None
    if first != second or not all(isinstance(value, _IMMUTABLE) for value in first.values()):
        return None
    return dict(first)
