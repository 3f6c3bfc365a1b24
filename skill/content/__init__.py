"""The words the skill speaks, kept as data per language and loaded once.

Each language is a folder of JSON files (``en/prompts.json``, ``en/topics.json``...); each file is
one branch of the tree, named after the file, so ``prompts.welcome`` is the ``welcome`` entry of
``prompts.json``. Separate areas of the conversation keep their words in separate files.
Strings are plain text with ``{name}`` placeholders; :meth:`Content.say` escapes them for SSML.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from string import Formatter
from typing import Any

from skill.speech import escape

CONTENT_DIR = Path(__file__).resolve().parent
# Every English-speaking locale we serve shares one set of words.
LOCALE_LANGUAGE = {"en-US": "en", "en-GB": "en", "en-CA": "en", "en-AU": "en", "en-IN": "en"}
DEFAULT_LOCALE = "en-US"
SUPPORTED_LOCALES = tuple(LOCALE_LANGUAGE)


class ContentError(KeyError):
    pass


_MISSING = object()


class Content:
    def __init__(self, language: str, tree: dict[str, Any]) -> None:
        self.language = language
        self.tree = tree
        self._synonyms: dict[str, dict[str, list[str]]] = {}
        # Key -> what it names, and key -> say(key) / text(key) for templates used without values:
        # the words never change once loaded, and only keys found are kept, so these hold at most
        # the tree.
        self._found: dict[str, Any] = {}
        self._said: dict[str, str] = {}
        self._texts: dict[str, str] = {}

    def get(self, key: str) -> Any:
        found = self._found.get(key, _MISSING)
        if found is not _MISSING:
            return found
        node: Any = self.tree
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ContentError(f"no content {key!r} for language {self.language!r}")
            node = node[part]
        self._found[key] = node
        return node

    def has(self, key: str) -> bool:
        try:
            self.get(key)
        except ContentError:
            return False
        return True

    def synonyms(self, slot_type: str) -> dict[str, list[str]]:
        """A slot type's value ids and every word people use for each, in any locale.

        ``vocabulary.json`` is the one list: the interaction models are generated from it, and
        the handlers match what was heard against it when Alexa sent no resolved id. Words that
        only one locale's model carries ("trainers", "water tablets") are understood everywhere.
        """
        if slot_type not in self._synonyms:
            values: dict[str, Any] = self.get(f"vocabulary.slot_types.{slot_type}")
            self._synonyms[slot_type] = {
                value_id: [
                    value["name"],
                    *value.get("synonyms", []),
                    *(word for words in value.get("local", {}).values() for word in words),
                ]
                for value_id, value in values.items()
            }
        return self._synonyms[slot_type]

    def text(self, key: str, **params: object) -> str:
        """The plain text at ``key`` with placeholders filled (for cards and logs)."""
        if not params and key in self._texts:
            return self._texts[key]
        template = self.get(key)
        if not isinstance(template, str):
            raise ContentError(f"content {key!r} is not a string")
        filled = template.format(**{k: str(v) for k, v in params.items()})
        if not params:
            self._texts[key] = filled
        return filled

    def say(self, key: str, **params: object) -> str:
        """The text at ``key`` as an SSML fragment: template and values escaped."""
        if not params and key in self._said:
            return self._said[key]
        template = self.get(key)
        if not isinstance(template, str):
            raise ContentError(f"content {key!r} is not a string")
        said = escape_template(template, **params)
        if not params:
            self._said[key] = said
        return said


def escape_template(template: str, **params: object) -> str:
    out: list[str] = []
    for literal, field, spec, conversion in Formatter().parse(template):
        out.append(escape(literal))
        if field is not None:
            value = params[field]
            formatted = format(value if conversion is None else repr(value), spec or "")
            out.append(escape(formatted))
    return "".join(out)


@cache
def load_language(language: str) -> Content:
    folder = CONTENT_DIR / language
    if not folder.is_dir():
        raise ContentError(f"no content for language {language!r}")
    tree: dict[str, Any] = {}
    for path in sorted(folder.glob("*.json")):
        tree[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return Content(language, tree)


def for_locale(locale: str | None) -> Content:
    """Content for an Alexa locale; unknown locales get the default language rather than an error."""
    language = LOCALE_LANGUAGE.get(locale or DEFAULT_LOCALE, LOCALE_LANGUAGE[DEFAULT_LOCALE])
    return load_language(language)
