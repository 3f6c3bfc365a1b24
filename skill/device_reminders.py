"""The Alexa Reminders API: place, move, find and delete the reminders the device says aloud.

Calls go to the request's ``apiEndpoint`` with its ``apiAccessToken``: the token of a skill
request, in session or the one a ``Messaging.MessageReceived`` request carries (the API creates
reminders with no other). Create, update and delete go through the ASK SDK's
``ReminderManagementServiceClient``; reading one back does not, because ask-sdk-model 1.82's
``GetReminderResponse`` names a module that does not exist (``alert_info_spoken_info``) and every
successful read fails to deserialize, so those two calls read the JSON here.

The orchestration lives here too, so handlers stay thin: :func:`place` (for a placement message),
:func:`apply` (after a change by voice), :func:`notice_deleted` and :func:`delete_all`.
"""

from __future__ import annotations

import json
import logging
import time as clock_time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model.services import ApiClientRequest, ApiConfiguration, ServiceException
from ask_sdk_model.services.reminder_management import (
    AlertInfo,
    PushNotification,
    PushNotificationStatus,
    ReminderManagementServiceClient,
    ReminderRequest,
    SpokenInfo,
    SpokenText,
    Trigger,
    TriggerType,
)

from scheduler.logs import safe, user_ref
from scheduler.placements import DeviceChanges, DeviceReminder, Placement
from skill import content
from skill.api_client import PooledApiClient
from skill.errors import describe
from skill.phrasing import reminder_speech
from skill.services import SkillServices

log = logging.getLogger(__name__)

# The longest text a device reminder carries (streak part included). Amazon's reference gives no
# figure we could confirm; this keeps the spoken reminder short, and the stub refuses longer text.
SPOKEN_TEXT_MAX: Final = 250
# Short waits: a placement request, or a voice change that deletes two device reminders, must still
# answer well inside Alexa's 8 seconds.
TIMEOUT: Final = (1.0, 2.5)
# SkillDisabled deletes what is left on the device within this, then answers anyway.
DELETE_BUDGET_S: Final = 3.0
MAX_REMINDERS_CODE: Final = "MAX_REMINDERS_EXCEEDED"
_PATH: Final = "/v1/alerts/reminders"

_api_client = PooledApiClient(timeout=TIMEOUT)
_serializer = DefaultSerializer()


class DeviceReminderError(Exception):
    """The Reminders API said no (or nothing); ``status`` None means no HTTP answer came back."""

    def __init__(self, status: int | None, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}" if status else message)
        self.status = status
        self.code = code

    @property
    def transient(self) -> bool:
        """Worth another try later (with a fresh token): throttled, down, or the token expired."""
        return self.status is None or self.status in (401, 429) or self.status >= 500

    @property
    def gone(self) -> bool:
        return self.status == 404

    @property
    def no_permission(self) -> bool:
        return self.status == 403 and self.code != MAX_REMINDERS_CODE


# -- the request body ------------------------------------------------------------------------------


def _repeated(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether a fall-back makes this wall time happen twice (a local time alone is ambiguous)."""
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    return (
        first != second
        and wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
    )


def reminder_request(placement: Placement, text: str, *, now: datetime) -> ReminderRequest:
    """One device reminder for one occurrence (no recurrence: our table schedules the next one).

    ``SCHEDULED_ABSOLUTE`` at the local wall time in the reminder's zone, as the app shows it. The
    one exception is a wall time a fall-back repeats: our rule fires the first of the two, and a
    local time cannot say which, so that occurrence is ``SCHEDULED_RELATIVE``, in seconds from now.
    """
    if len(text) > SPOKEN_TEXT_MAX:
        raise ValueError(f"device reminder text is {len(text)} characters, over {SPOKEN_TEXT_MAX}")
    zone = ZoneInfo(placement.time_zone)
    wall = placement.wall
    if _repeated(wall, zone):
        trigger = Trigger(
            object_type=TriggerType.SCHEDULED_RELATIVE,
            offset_in_seconds=int((placement.occurrence_at - now).total_seconds()),
        )
    else:
        trigger = Trigger(
            object_type=TriggerType.SCHEDULED_ABSOLUTE, scheduled_time=wall, time_zone_id=placement.time_zone
        )
    return ReminderRequest(
        # The API's examples give requestTime without an offset; ours is UTC.
        request_time=now.astimezone(UTC).replace(tzinfo=None, microsecond=0),
        trigger=trigger,
        alert_info=AlertInfo(
            spoken_info=SpokenInfo(content=[SpokenText(locale=placement.locale, text=text)])
        ),
        # Also on the phone, for whoever is not near the device at bedtime.
        push_notification=PushNotification(status=PushNotificationStatus.ENABLED),
    )


def words_for(placement: Placement, streak_nights: int | None = None) -> str:
    """What the device says at the time; a stretch reminder may say the streak (reminder_speech)."""
    return reminder_speech(content.for_locale(placement.locale), placement.kind, streak_nights)


# -- the calls --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Api:
    endpoint: str
    token: str

    @classmethod
    def of(cls, handler_input: HandlerInput) -> _Api | None:
        system = getattr(handler_input.request_envelope.context, "system", None)
        endpoint = getattr(system, "api_endpoint", None)
        token = getattr(system, "api_access_token", None)
        return cls(str(endpoint), str(token)) if endpoint and token else None

    def client(self) -> ReminderManagementServiceClient:
        return ReminderManagementServiceClient(
            ApiConfiguration(
                serializer=_serializer,
                api_client=_api_client,
                authorization_value=self.token,
                api_endpoint=self.endpoint,
            )
        )

    def read(self, path: str) -> Any:
        """GET ``path`` and return its JSON (see the module docstring for why not the SDK's client)."""
        request = ApiClientRequest(
            url=self.endpoint.rstrip("/") + path,
            method="GET",
            headers=[("Accept", "application/json"), ("Authorization", f"Bearer {self.token}")],
        )
        try:
            response = _api_client.invoke(request)
        except Exception as exc:  # the client raises ApiClientException for any transport failure
            raise DeviceReminderError(None, "UNREACHABLE", describe(exc, excerpt=False)) from exc
        if not 200 <= (response.status_code or 0) < 300:
            raise _error(response.status_code, response.body)
        try:
            return json.loads(response.body or "null")
        except ValueError as exc:
            raise DeviceReminderError(response.status_code, "BAD_JSON", "reply is not JSON") from exc


def _error(status: int | None, body: Any) -> DeviceReminderError:
    code, message = "", ""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if isinstance(body, Mapping):
        code, message = str(body.get("code") or ""), str(body.get("message") or "")
    elif body is not None:
        code, message = str(getattr(body, "code", "") or ""), str(getattr(body, "message", "") or "")
    return DeviceReminderError(status, code, safe(message, 200))


def _calling(what: str, call: Any) -> Any:
    try:
        return call()
    except ServiceException as exc:
        # The SDK reports a transport failure as a 500 "Call to service failed".
        status = None if str(exc).startswith("Call to service failed") else exc.status_code
        raise _error(status, exc.body) from None
    except ValueError as exc:  # no endpoint or token configured in the request
        raise DeviceReminderError(None, "NO_API", f"{what}: {describe(exc)}") from None


def create(api: _Api, body: ReminderRequest) -> str:
    response = _calling("create", lambda: api.client().create_reminder(body))
    token = getattr(response, "alert_token", None)
    if not token:
        raise DeviceReminderError(200, "NO_ALERT_TOKEN", "created, but the reply has no alertToken")
    return str(token)


def update(api: _Api, alert_token: str, body: ReminderRequest) -> None:
    _calling("update", lambda: api.client().update_reminder(alert_token, body))


def delete(api: _Api, alert_token: str) -> None:
    _calling("delete", lambda: api.client().delete_reminder(alert_token))


def exists(api: _Api, alert_token: str) -> bool:
    try:
        api.read(f"{_PATH}/{alert_token}")
    except DeviceReminderError as exc:
        if exc.gone:
            return False
        raise
    return True


def find(api: _Api, placement: Placement, text: str) -> str | None:
    """A reminder of ours on the device at this time with this text: one a cut-off attempt created."""
    wall = placement.wall.isoformat(timespec="minutes")
    listed = api.read(_PATH)
    for alert in (listed or {}).get("alerts") or [] if isinstance(listed, Mapping) else []:
        if not isinstance(alert, Mapping) or alert.get("status") not in (None, "ON"):
            continue
        trigger = alert.get("trigger") or {}
        spoken = ((alert.get("alertInfo") or {}).get("spokenInfo") or {}).get("content") or []
        if (
            str(trigger.get("scheduledTime", "")).startswith(wall)
            and trigger.get("timeZoneId") == placement.time_zone
            and any(isinstance(c, Mapping) and c.get("text") == text for c in spoken)
            and alert.get("alertToken")
        ):
            return str(alert["alertToken"])
    return None


# -- what handlers call -----------------------------------------------------------------------------


def place(
    handler_input: HandlerInput,
    services: SkillServices,
    user: str,
    message: Mapping[str, Any],
    streak: Callable[[str], int | None] = lambda zone: None,
) -> str:
    """Place the occurrence a worker's message names; returns what happened, for the log.

    ``streak`` gives the user's nights in a row in a zone (None below two), for a stretch
    reminder's words; it is asked only for those.

    Raises DeviceReminderError when the Reminders API failed transiently: the request then gets a
    503 and Alexa delivers the message again later, with a fresh token.
    """
    parsed = _parse_message(message)
    if isinstance(parsed, str):
        return f"ignored: {parsed}"
    reminder_id, occurrence_at, reference = parsed
    claimed = services.placements.begin(user, reminder_id, occurrence_at, reference)
    if isinstance(claimed, str):
        return f"not placed: {claimed}"
    api = _Api.of(handler_input)
    if api is None:
        services.placements.not_placed(claimed, "the message carried no API token", again=False)
        return "not placed: no apiEndpoint or apiAccessToken in the message"
    nights = streak(claimed.time_zone) if claimed.kind == "stretch" else None
    text = words_for(claimed, nights)
    body = reminder_request(claimed, text, now=services.clock())
    try:
        alert_token = (find(api, claimed, text) if claimed.recover else None) or create(api, body)
    except DeviceReminderError as exc:
        if exc.transient:
            services.placements.not_placed(claimed, str(exc), again=True)
            raise
        services.placements.not_placed(claimed, str(exc), again=False)
        if exc.no_permission:
            # The permission is gone and its event has not reached us yet: notify from now on.
            services.reminders.note_user(user, reminders_allowed=False)
        return f"not placed ({exc}); it will be a notification"
    if services.placements.placed(claimed, alert_token):
        return f"placed for {claimed.occurrence_at.isoformat()}"
    # Cancelled, skipped or forgotten while the call was out: take it back off the device.
    _quietly(api, [alert_token], "changed while it was being placed")
    return "placed, then deleted again: the reminder changed meanwhile"


def _parse_message(message: Mapping[str, Any]) -> tuple[int, datetime, str] | str:
    if message.get("action") != "place":
        return f"unknown action {safe(message.get('action'))}"
    try:
        reminder_id = int(str(message["reminder"]))
        occurrence_at = datetime.fromisoformat(str(message["occurrence"]).replace("Z", "+00:00"))
        reference = str(message["reference"])
    except (KeyError, ValueError):
        return "malformed placement message"
    if occurrence_at.tzinfo is None:
        return "the occurrence has no UTC offset"
    return reminder_id, occurrence_at.astimezone(UTC), reference


def apply(handler_input: HandlerInput, services: SkillServices, changes: DeviceChanges) -> bool:
    """Carry a change by voice to the device with the session's token; False if some of it failed
    (the user is told they may still hear the old one). A device reminder already gone is fine."""
    if not changes.delete and not changes.move:
        return True
    api = _Api.of(handler_input)
    if api is None:
        log.warning("no API token in the request: %d device reminder(s) not changed", len(changes.delete))
        return False
    ok = True
    for placement in changes.move:
        assert placement.alert_token is not None
        try:
            update(
                api,
                placement.alert_token,
                reminder_request(placement, words_for(placement), now=services.clock()),
            )
            continue
        except DeviceReminderError as exc:
            log.warning("reminder %s: device reminder not moved: %s", placement.reminder_id, exc)
        services.placements.move_failed(placement, "the device reminder could not be moved")
        ok = _quietly(api, [placement.alert_token], "could not be moved") and ok
    return _quietly(api, [d.alert_token for d in changes.delete], "changed by voice") and ok


def _quietly(api: _Api, alert_tokens: Iterable[str], why: str, budget_s: float | None = None) -> bool:
    """Delete device reminders, logging failures; False if any is still on the device."""
    ok = True
    started = clock_time.monotonic()
    for alert_token in alert_tokens:
        if budget_s is not None and clock_time.monotonic() - started > budget_s:
            log.warning("device reminder deletes stopped after %gs; the rest stay on the device", budget_s)
            return False
        try:
            delete(api, alert_token)
        except DeviceReminderError as exc:
            if not exc.gone:
                log.warning("device reminder (%s) not deleted: %s", why, exc)
                ok = False
    return ok


def delete_all(handler_input: HandlerInput, user: str, reminders: Iterable[DeviceReminder]) -> None:
    """After SkillDisabled: delete what is still to fire on the device, best effort, in a budget."""
    tokens = [r.alert_token for r in reminders]
    if not tokens:
        return
    api = _Api.of(handler_input)
    if api is None:
        log.warning(
            "skill disabled by %s: %d device reminder(s) left (the event has no API token)",
            user_ref(user),
            len(tokens),
        )
        return
    if _quietly(api, tokens, "skill disabled", budget_s=DELETE_BUDGET_S):
        log.info("skill disabled by %s: deleted %d device reminder(s)", user_ref(user), len(tokens))


def notice_deleted(handler_input: HandlerInput, services: SkillServices, user: str) -> int:
    """Ask the device about the user's placed reminders; the ones they deleted in the Alexa app
    are marked skipped. Returns how many were gone. Best effort: no token, no answer, no change."""
    placed = services.placements.on_device(user)
    api = _Api.of(handler_input)
    if not placed or api is None:
        return 0
    gone: list[str] = []
    for reminder in placed:
        try:
            if not exists(api, reminder.alert_token):
                gone.append(reminder.alert_token)
        except DeviceReminderError as exc:
            log.info("could not check a device reminder of %s: %s", user_ref(user), exc)
            return 0
    return services.placements.removed_in_app(user, gone) if gone else 0
