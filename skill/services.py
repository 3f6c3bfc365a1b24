"""What handlers may reach: settings, the database session factory, reminders, placements, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from scheduler import ReminderService
from scheduler.placements import Placements
from skill.config import Settings


@dataclass
class SkillServices:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    reminders: ReminderService
    clock: Callable[[], datetime]
    placements: Placements
