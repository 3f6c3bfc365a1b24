"""Placeholder: filled in by its own change."""

from __future__ import annotations

from ask_sdk_core.dispatch_components import AbstractRequestHandler

from skill.services import SkillServices


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return []
