"""Reminders by voice: set, list, move and cancel, plus the yes/no answers to reminder offers.

Handlers read slots and call ``ReminderService``; what they say lives in content/en/reminders.json.
A reminder is set only after the user says yes to hearing its time and how often it repeats
(Amazon's reminder guidelines). Changes reach the user's device through ``skill.device_reminders``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Intent, IntentConfirmationStatus, Response, Slot, SlotConfirmationStatus
from ask_sdk_model.dialog import ElicitSlotDirective
from ask_sdk_model.ui import AskForPermissionsConsentCard
from sqlalchemy.exc import SQLAlchemyError

from scheduler import ReminderError, ReminderView
from scheduler.logs import safe, user_ref
from scheduler.placements import DeviceChanges
from scheduler.recurrence import EVERY_DAY
from skill import device_reminders
from skill.alexa_context import (
    NOTIFICATIONS_SCOPE,
    REMINDERS_SCOPE,
    device_time_zone,
    notifications_allowed,
    reminders_allowed,
    user_id,
)
from skill.content import Content
from skill.errors import describe, is_storage_failure
from skill.handlers import offers
from skill.handlers.common import content, is_intent, remember, reply, services, session, state
from skill.handlers.scope import intents
from skill.phrasing import day_mask, say_date, say_days_as_said, say_times, say_when
from skill.services import SkillServices
from skill.slots import is_vague_time, parse_time, raw_value, resolve

log = logging.getLogger(__name__)

REMINDER_INTENTS = (
    "SetReminderIntent",
    "ListRemindersIntent",
    "MoveReminderIntent",
    "CancelReminderIntent",
    "CancelAllRemindersIntent",
    "SkipReminderIntent",
    "PauseRemindersIntent",
    "ResumeRemindersIntent",
    "AMAZON.YesIntent",
    "AMAZON.NoIntent",
)
# Persistent state: the user has heard once that their reminders come as notifications.
FALLBACK_TOLD = "reminders_fallback_told"
TIME_SLOTS = ("time", "timeTwo", "timeThree")
DAY_SLOTS = ("days", "dayTwo")
# Kinds that are evening habits: a bare "at 10" means 10 PM for them.
EVENING_KINDS = {"stretch"}


def kind_of(handler_input: HandlerInput, words: Content) -> str | None:
    return resolve(handler_input, "kind", words.synonyms("ReminderKind"))


def _evening(kind: str, at: time) -> time:
    if kind in EVENING_KINDS and 1 <= at.hour <= 11:
        return at.replace(hour=at.hour + 12)
    return at


def ask_slot(
    handler_input: HandlerInput,
    slot_name: str,
    prompt: str,
    reprompt: str,
    *,
    intent: Intent | None = None,
    **params: object,
) -> Response:
    """Ask for one slot with dialog management, keeping what the user already said.

    ``prompt`` and ``reprompt`` are content keys; ``params`` fill the prompt's placeholders.
    """
    words = content(handler_input)
    current = intent or getattr(handler_input.request_envelope.request, "intent", None)
    return reply(
        handler_input,
        words.say(prompt, **params),
        reprompt=words.say(reprompt),
        directives=[ElicitSlotDirective(updated_intent=current, slot_to_elicit=slot_name)],
    )


class ReminderStorageDown(AbstractExceptionHandler):
    """The reminder database is unreachable: say so kindly; nothing was changed."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return is_storage_failure(exception) and is_intent(handler_input, *REMINDER_INTENTS)

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        log.error("reminder storage unavailable: %s", describe(exception))
        words = content(handler_input)
        return reply(
            handler_input,
            words.say("reminders.storage_down"),
            reprompt=words.say("reminders.storage_down_reprompt"),
        )


def _facts(words: Content, kind: str, times: Sequence[time], days: int, spoken: str | None) -> dict[str, str]:
    return {
        "label": words.text(f"reminders.kinds.{kind}.label"),
        "action": words.text(f"reminders.kinds.{kind}.action"),
        "times": say_times(words, times),
        "days": say_days_as_said(words, days, spoken),
    }


def _describe(words: Content, view: ReminderView, times: Sequence[time] | None = None) -> dict[str, str]:
    return _facts(words, view.kind, times or [view.local_time], view.days, view.spoken)


def carry_to_device(handler_input: HandlerInput, changes: DeviceChanges) -> list[str]:
    """Move or delete what a change left on the device; a sentence for the user if that failed."""
    if device_reminders.apply(handler_input, services(handler_input), changes):
        return []
    return [content(handler_input).say("reminders.device_unreachable")]


def _find_zone(handler_input: HandlerInput, svc: SkillServices, user: str) -> tuple[str | None, str | None]:
    """The zone to schedule in, and a note to say when it is not the device's own."""
    zone = device_time_zone(handler_input)
    if zone:
        return zone, None
    try:
        saved = svc.reminders.user_time_zone(user)
    except SQLAlchemyError:
        saved = None
    if saved:
        log.warning(
            "using saved time zone %s for user %s: device settings unavailable", safe(saved), user_ref(user)
        )
        return saved, content(handler_input).say("reminders.zone_saved", zone=saved.replace("_", " "))
    return None, None


class SetReminderHandler(AbstractRequestHandler):
    scope = intents("SetReminderIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        offers.make(handler_input, None)
        kind = kind_of(handler_input, words)
        if kind is None:
            return ask_slot(handler_input, "kind", "reminders.ask_kind", "reminders.ask_kind_reprompt")
        action = words.text(f"reminders.kinds.{kind}.action")
        raw_times = [raw_value(handler_input, name) for name in TIME_SLOTS]
        if any(is_vague_time(value) for value in raw_times):
            return ask_slot(handler_input, "time", "reminders.vague_time", "reminders.ask_time_reprompt")
        times = [_evening(kind, t) for t in (parse_time(v) for v in raw_times) if t is not None]
        if not times:
            return ask_slot(
                handler_input, "time", "reminders.ask_time", "reminders.ask_time_reprompt", action=action
            )
        day_synonyms = words.synonyms("DayType")
        day_ids = [d for d in (resolve(handler_input, s, day_synonyms) for s in DAY_SLOTS) if d]
        days = day_mask(day_ids) or EVERY_DAY

        svc = services(handler_input)
        user = user_id(handler_input)
        zone, zone_note = _find_zone(handler_input, svc, user)
        if zone is None:
            log.warning("no time zone for user %s: reminder not set, user told", user_ref(user))
            return reply(
                handler_input,
                words.say("reminders.zone_unknown"),
                reprompt=words.say("reminders.zone_unknown_reprompt"),
            )
        spoken_days = " ".join(v for v in (raw_value(handler_input, s) for s in DAY_SLOTS) if v) or None
        # Nothing is stored yet: the user hears the time and how often it repeats, and says yes.
        session(handler_input)[offers.PENDING_REMINDER] = {
            "kind": kind,
            "times": sorted({t.strftime("%H:%M") for t in times}),
            "days": days,
            "zone": zone,
            "spoken": spoken_days,
        }
        offers.make(handler_input, offers.SET_REMINDER)
        facts = _facts(words, kind, times, days, spoken_days)
        question = "reminders.confirm_device" if reminders_allowed(handler_input) else "reminders.confirm"
        fragments = [zone_note] if zone_note else []
        fragments.append(words.say(question, **facts))
        return reply(handler_input, fragments, reprompt=words.say("reminders.confirm_reprompt"))


def _set_confirmed(handler_input: HandlerInput) -> Response:
    """The user said yes to the reminder they heard: store it, and say how it will reach them."""
    words = content(handler_input)
    pending = session(handler_input).pop(offers.PENDING_REMINDER, None)
    try:
        kind = str(pending["kind"])
        times = [time.fromisoformat(str(t)) for t in pending["times"]]
        days, zone = int(pending["days"]), str(pending["zone"])
        spoken = pending.get("spoken")
    except (TypeError, KeyError, ValueError):
        log.warning("yes to a reminder, but its details are missing from the session")
        return reply(
            handler_input, words.say("reminders.set_lost"), reprompt=words.say("reminders.set_reprompt")
        )
    user = user_id(handler_input)
    allowed, device = notifications_allowed(handler_input), reminders_allowed(handler_input)
    stored = services(handler_input).reminders.add(
        user,
        kind,
        times,
        time_zone=zone,
        days=days,
        spoken=str(spoken) if spoken else None,
        locale=getattr(handler_input.request_envelope.request, "locale", None),
        notifications_allowed=allowed,
        reminders_allowed=device,
    )
    facts = _describe(words, stored[0], [r.local_time for r in stored])
    card: Any
    if device:
        fragments = [words.say("reminders.set_done_device", **facts)]
        card = (words.text("prompts.skill_name"), words.text("reminders.set_done_device", **facts))
    elif allowed:
        fragments = [words.say("reminders.set_done", **facts)]
        card = (words.text("prompts.skill_name"), words.text("reminders.set_done", **facts))
        if not state(handler_input).get(FALLBACK_TOLD):
            # Said once: notifications work, but a spoken reminder needs the reminders permission.
            fragments.append(words.say("reminders.fallback_once"))
            card = AskForPermissionsConsentCard(permissions=[REMINDERS_SCOPE])
            remember(handler_input, **{FALLBACK_TOLD: True})
    else:
        fragments = [words.say("reminders.set_paused", **facts)]
        card = AskForPermissionsConsentCard(permissions=[REMINDERS_SCOPE, NOTIFICATIONS_SCOPE])
    return reply(handler_input, fragments, reprompt=words.say("reminders.set_reprompt"), card=card)


class ListRemindersHandler(AbstractRequestHandler):
    scope = intents("ListRemindersIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        svc = services(handler_input)
        user = user_id(handler_input)
        if reminders_allowed(handler_input):
            # A device reminder deleted in the Alexa app shows as skipped below.
            device_reminders.notice_deleted(handler_input, svc, user)
        views = svc.reminders.list(user)
        if not views:
            return reply(
                handler_input, words.say("reminders.list_none"), reprompt=words.say("reminders.set_reprompt")
            )
        now = svc.clock()
        # Reminders read together share a kind, days, and what is paused or skipped about them.
        groups: dict[tuple[str, int, Any, Any], list[ReminderView]] = {}
        for view in views:
            groups.setdefault((view.kind, view.days, view.paused_at(now), view.skipping(now)), []).append(
                view
            )
        if len(views) == 1:
            fragments = [words.say("reminders.list_intro_one")]
        else:
            fragments = [words.say("reminders.list_intro_many", count=len(views))]
        items = [_list_item(words, group, now) for group in groups.values()]
        fragments.extend(words.say(key, **facts) for key, facts in items)
        if any(v.paused for v in views):
            fragments.append(words.say("reminders.list_paused"))
        card_text = " ".join(words.text(key, **facts) for key, facts in items)
        return reply(
            handler_input,
            fragments,
            reprompt=words.say("reminders.list_reprompt"),
            card=(words.text("prompts.skill_name"), card_text),
        )


def _list_item(words: Content, group: Sequence[ReminderView], now: datetime) -> tuple[str, dict[str, str]]:
    """One line of the list: its times and days, and whether it is paused or skipping a day."""
    first = group[0]
    facts = _describe(words, first, [v.local_time for v in group])
    until = first.paused_at(now)
    if until is not None:
        return "reminders.list_item_paused", {**facts, "date": say_date(words, until, first.time_zone)}
    skipped = first.skipping(now)
    if skipped is not None:
        at = datetime.combine(skipped, first.local_time, ZoneInfo(first.time_zone))
        return "reminders.list_item_skipping", {**facts, "when": say_when(words, at, first.time_zone, now)}
    return "reminders.list_item", facts


class MoveReminderHandler(AbstractRequestHandler):
    scope = intents("MoveReminderIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        kind = kind_of(handler_input, words)
        if kind is None:
            return ask_slot(handler_input, "kind", "reminders.move_ask_kind", "reminders.ask_kind_reprompt")
        label = words.text(f"reminders.kinds.{kind}.label")
        new_time = parse_time(raw_value(handler_input, "time"))
        if new_time is None:
            return ask_slot(
                handler_input, "time", "reminders.move_ask_time", "reminders.ask_time_reprompt", label=label
            )
        new_time = _evening(kind, new_time)
        from_time = parse_time(raw_value(handler_input, "fromTime"))
        svc = services(handler_input)
        user = user_id(handler_input)
        try:
            moved = svc.reminders.move(user, kind, new_time, from_time=from_time)
        except ReminderError as exc:
            if exc.code == "ambiguous":
                same_kind = [v for v in svc.reminders.list(user) if v.kind == kind]
                times = say_times(words, [v.local_time for v in same_kind])
                return ask_slot(
                    handler_input,
                    "fromTime",
                    "reminders.move_which",
                    "reminders.move_which_reprompt",
                    label=label,
                    times=times,
                )
            return reply(
                handler_input,
                words.say(
                    "reminders.move_none", label=label, action=words.text(f"reminders.kinds.{kind}.action")
                ),
                reprompt=words.say("reminders.set_reprompt"),
            )
        facts = _describe(words, moved.view)
        return reply(
            handler_input,
            [words.say("reminders.move_done", **facts), *carry_to_device(handler_input, moved.device)],
            reprompt=words.say("reminders.set_reprompt"),
            card=(words.text("prompts.skill_name"), words.text("reminders.move_done", **facts)),
        )


def _cancel(handler_input: HandlerInput, target: str) -> Response:
    """Delete what the user confirmed: one kind, or "all"."""
    words = content(handler_input)
    cancelled = services(handler_input).reminders.cancel(
        user_id(handler_input), None if target == "all" else target
    )
    count = cancelled.count
    if target == "all":
        speech = words.say("reminders.cancel_all_done" if count else "reminders.cancel_all_none")
    else:
        label = words.text(f"reminders.kinds.{target}.label")
        if count == 0:
            speech = words.say("reminders.cancel_none", label=label)
        elif count == 1:
            speech = words.say("reminders.cancel_done", label=label)
        else:
            speech = words.say("reminders.cancel_done_many", label=label, count=count)
    return reply(
        handler_input,
        [speech, *carry_to_device(handler_input, cancelled.device)],
        reprompt=words.say("reminders.after_cancel_reprompt"),
    )


def _kept(handler_input: HandlerInput) -> Response:
    words = content(handler_input)
    return reply(
        handler_input,
        words.say("reminders.cancel_kept"),
        reprompt=words.say("reminders.after_cancel_reprompt"),
    )


def _confirmation(handler_input: HandlerInput) -> str:
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    status = getattr(intent, "confirmation_status", None)
    return str(getattr(status, "value", "NONE"))


class CancelReminderHandler(AbstractRequestHandler):
    """Confirms before deleting: Alexa's own confirmation when the dialog model ran it, else a yes/no."""

    scope = intents("CancelReminderIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        kind = kind_of(handler_input, words)
        if kind is None:
            return ask_slot(handler_input, "kind", "reminders.cancel_ask_kind", "reminders.ask_kind_reprompt")
        confirmation = _confirmation(handler_input)
        if confirmation == "CONFIRMED":
            return _cancel(handler_input, kind)
        if confirmation == "DENIED":
            return _kept(handler_input)
        return _confirm_cancel(handler_input, kind)


def _confirm_cancel(handler_input: HandlerInput, kind: str) -> Response:
    """Name the reminders of this kind and ask before deleting them (the offer holds the answer)."""
    words = content(handler_input)
    label = words.text(f"reminders.kinds.{kind}.label")
    mine = [v for v in services(handler_input).reminders.list(user_id(handler_input)) if v.kind == kind]
    if not mine:
        return reply(
            handler_input,
            words.say("reminders.cancel_none", label=label),
            reprompt=words.say("reminders.after_cancel_reprompt"),
        )
    offers.make(handler_input, f"cancel:{kind}")
    return reply(
        handler_input,
        words.say(
            "reminders.cancel_confirm", label=label, times=say_times(words, [v.local_time for v in mine])
        ),
        reprompt=words.say("reminders.cancel_confirm_reprompt"),
    )


class CancelAllRemindersHandler(AbstractRequestHandler):
    scope = intents("CancelAllRemindersIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        confirmation = _confirmation(handler_input)
        if confirmation == "CONFIRMED":
            return _cancel(handler_input, "all")
        if confirmation == "DENIED":
            return _kept(handler_input)
        count = len(services(handler_input).reminders.list(user_id(handler_input)))
        if count == 0:
            return reply(
                handler_input,
                words.say("reminders.cancel_all_none"),
                reprompt=words.say("reminders.after_cancel_reprompt"),
            )
        offers.make(handler_input, "cancel:all")
        return reply(
            handler_input,
            words.say("reminders.cancel_all_confirm", count=count),
            reprompt=words.say("reminders.cancel_confirm_reprompt"),
        )


class ReminderOfferYesHandler(AbstractRequestHandler):
    """ "Yes" to "cancel it?", to "should I remind you at 9:30 PM?", or to "want a reminder?"."""

    scope = intents("AMAZON.YesIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        # The intent first: requests outside a session (events, exceptions) have no offer to read.
        return self.scope.accepts(handler_input) and offers.pending(handler_input).startswith(
            ("cancel:", "reminder", offers.SET_REMINDER)
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        offer = offers.pending(handler_input)
        offers.make(handler_input, None)
        if offer == offers.SET_REMINDER:
            return _set_confirmed(handler_input)
        if offer.startswith("cancel:"):
            return _cancel(handler_input, offer.split(":", 1)[1])
        kind = offer.split(":", 1)[1] if ":" in offer else None
        return continue_as(handler_input, "set", kind)


class ReminderOfferNoHandler(AbstractRequestHandler):
    """ "No" to "cancel it?" (nothing is deleted) or to "should I remind you...?" (nothing is set).
    A no to a reminder offer is the general no."""

    scope = intents("AMAZON.NoIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input) and offers.pending(handler_input).startswith(
            ("cancel:", offers.SET_REMINDER)
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        offer = offers.pending(handler_input)
        offers.make(handler_input, None)
        if offer == offers.SET_REMINDER:
            session(handler_input).pop(offers.PENDING_REMINDER, None)
            words = content(handler_input)
            return reply(
                handler_input,
                words.say("reminders.set_declined"),
                reprompt=words.say("reminders.set_reprompt"),
            )
        return _kept(handler_input)


# What each reminder intent needs next when the conversation arrives at it from elsewhere (a yes to
# an offer, a reminder request in other words): its slots, and the prompts for the kind and time.
_CONTINUE = {
    "set": (
        "SetReminderIntent",
        ("kind", *TIME_SLOTS, *DAY_SLOTS),
        "reminders.ask_kind",
        "reminders.ask_time",
    ),
    "move": (
        "MoveReminderIntent",
        ("kind", "fromTime", "time"),
        "reminders.move_ask_kind",
        "reminders.move_ask_time",
    ),
    "cancel": ("CancelReminderIntent", ("kind",), "reminders.cancel_ask_kind", None),
}


def continue_as(handler_input: HandlerInput, action: str, kind: str | None) -> Response:
    """Carry on as the reminder intent for ``action`` (set, list, move, cancel, cancel_all, or a
    break: skip, pause, resume).

    Used when the request was not that intent: the user said yes to a reminder offer, or asked in
    words the models send as a free-text question. Alexa is asked for what the intent still needs
    (the kind, then the time) with the intent itself as ``updatedIntent``, so the answer arrives as
    that intent.
    """
    if action == "list":
        return ListRemindersHandler().handle(handler_input)
    if action in ("skip", "pause", "resume"):
        from skill.handlers import pauses  # it builds on this module

        return pauses.continue_as(handler_input, action, kind)
    if action == "cancel_all":
        return CancelAllRemindersHandler().handle(handler_input)
    if action == "cancel" and kind is not None:
        return _confirm_cancel(handler_input, kind)
    name, slot_names, ask_kind, ask_time = _CONTINUE[action]
    slots = {n: Slot(name=n, confirmation_status=SlotConfirmationStatus.NONE) for n in slot_names}
    intent = Intent(name=name, slots=slots, confirmation_status=IntentConfirmationStatus.NONE)
    if kind is None or ask_time is None:
        return ask_slot(handler_input, "kind", ask_kind, "reminders.ask_kind_reprompt", intent=intent)
    words = content(handler_input)
    slots["kind"].value = kind
    # The set prompt names the action ("drink some water"), the move prompt the reminder's label.
    part = "action" if action == "set" else "label"
    params = {part: words.text(f"reminders.kinds.{kind}.{part}")}
    return ask_slot(handler_input, "time", ask_time, "reminders.ask_time_reprompt", intent=intent, **params)


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [
        SetReminderHandler(),
        ListRemindersHandler(),
        MoveReminderHandler(),
        CancelReminderHandler(),
        CancelAllRemindersHandler(),
        ReminderOfferYesHandler(),
        ReminderOfferNoHandler(),
    ]


def build_exception_handlers(services: SkillServices) -> list[AbstractExceptionHandler]:
    return [ReminderStorageDown()]
