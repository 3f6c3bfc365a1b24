"""Cramp Coach reminders: storage, recurrence and delivery.

The voice skill talks to this package through :class:`ReminderService`; this package never imports
the skill.
"""

from scheduler.service import KINDS, ReminderError, ReminderService, ReminderView

__all__ = ["KINDS", "ReminderError", "ReminderService", "ReminderView"]
