"""Sample utterances from a small grammar: carrier phrases x subjects x tails, in a fixed order.

A template is a string in which

    (a|b|c)   is one of the alternatives,
    [a|b]     is one of them, or nothing,
    <name>    is any word of the vocabulary list ``name`` (with the locale's own words),
    {slot}    is an Alexa slot, left as it is.

Alternatives may hold lists and further groups: "(why do my <legs>|how come my <legs>) cramp".
Expansion is depth-first in template order, so the same template gives the same samples on every
run. A template whose product is larger than wanted takes a ``cap``: half of it the commonest forms
(templates and lists put the commonest words first), half a seeded random draw from the others, so
the result is the same on every run too.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

Lists = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Template:
    text: str
    cap: int | None = None


class GrammarError(ValueError):
    pass


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Choice:
    options: tuple[tuple[_Part, ...], ...]
    optional: bool


@dataclass(frozen=True)
class _List:
    name: str


_Part = _Literal | _Choice | _List
_CLOSE = {"(": ")", "[": "]"}


def _parse(text: str, pos: int = 0, closing: str | None = None) -> tuple[list[list[_Part]], int]:
    """The alternatives (split on "|") up to ``closing``, and where parsing stopped."""
    options: list[list[_Part]] = [[]]
    literal: list[str] = []

    def flush() -> None:
        if literal:
            options[-1].append(_Literal("".join(literal)))
            literal.clear()

    while pos < len(text):
        char = text[pos]
        if char in _CLOSE:
            flush()
            inner, pos = _parse(text, pos + 1, _CLOSE[char])
            options[-1].append(_Choice(tuple(tuple(o) for o in inner), optional=char == "["))
            continue
        if char == "<":
            end = text.find(">", pos)
            if end < 0:
                raise GrammarError(f"unclosed <list> in {text!r}")
            flush()
            options[-1].append(_List(text[pos + 1 : end]))
            pos = end + 1
            continue
        if char in ")]":
            if char != closing:
                raise GrammarError(f"unexpected {char!r} in {text!r}")
            flush()
            return options, pos + 1
        if char == "|":
            if closing is None:
                raise GrammarError(f"'|' outside a group in {text!r}")
            flush()
            options.append([])
        else:
            literal.append(char)
        pos += 1
    if closing is not None:
        raise GrammarError(f"unclosed group in {text!r}")
    flush()
    return options, pos


def _expand(parts: Sequence[_Part], lists: Lists) -> Iterator[tuple[str, int]]:
    """(sample, rank): rank adds up the position of every alternative chosen, 0 for the first.

    Templates and lists put the commonest words first, so a low rank is a plain, common phrasing.
    """
    if not parts:
        yield "", 0
        return
    head, rest = parts[0], parts[1:]
    if isinstance(head, _Literal):
        heads: list[tuple[str, int]] = [(head.text, 0)]
    elif isinstance(head, _List):
        if head.name not in lists:
            raise GrammarError(f"no vocabulary list <{head.name}>")
        heads = [(word, rank) for rank, word in enumerate(lists[head.name])]
    else:
        heads = [
            (text, position + rank)
            for position, option in enumerate(head.options, start=int(head.optional))
            for text, rank in _expand(option, lists)
        ]
        if head.optional:
            heads = [("", 0), *heads]
    tails = list(_expand(rest, lists))
    for first, first_rank in heads:
        for tail, tail_rank in tails:
            yield first + tail, first_rank + tail_rank


def _tidy(sample: str) -> str:
    return re.sub(r"\s+", " ", sample).strip()


def expand(template: Template | str, lists: Lists) -> list[str]:
    """Every sample the template makes (at most ``cap`` of them), without repeats, in order."""
    if isinstance(template, str):
        template = Template(template)
    [parts], _ = _parse(template.text)
    ranks: dict[str, int] = {}
    for text, rank in _expand(parts, lists):
        sample = _tidy(text)
        if sample and sample not in ranks:
            ranks[sample] = rank
    samples = list(ranks)
    if template.cap is not None and len(samples) > template.cap:
        samples = _capped(samples, [ranks[s] for s in samples], template.cap, seed=template.text)
    return samples


def _capped(samples: list[str], ranks: list[int], cap: int, seed: str) -> list[str]:
    """Half the cap from the commonest phrasings (lowest rank), the other half drawn at random.

    The draw is random rather than the next in order, so that no alternative is left out because it
    comes late; it is seeded with the template, so it is the same on every run. Product order is kept.
    """
    by_rank = sorted(range(len(samples)), key=lambda i: (ranks[i], i))
    common = by_rank[: cap // 2]
    drawn = random.Random(seed).sample(sorted(by_rank[cap // 2 :]), cap - len(common))
    return [samples[i] for i in sorted((*common, *drawn))]


def expand_all(templates: Iterable[Template | str], lists: Lists) -> list[str]:
    """The samples of several templates, in order, each once."""
    return list(dict.fromkeys(s for t in templates for s in expand(t, lists)))
