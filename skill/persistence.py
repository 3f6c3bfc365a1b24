"""The ask-sdk persistence adapter, on SQLAlchemy: per-user skill state that outlives a session."""

from __future__ import annotations

import logging
from typing import Any

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_model import RequestEnvelope
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from scheduler.models import SkillState

log = logging.getLogger(__name__)


def user_id_of(request_envelope: RequestEnvelope) -> str:
    system = getattr(getattr(request_envelope, "context", None), "system", None)
    user = getattr(system, "user", None)
    user_id = getattr(user, "user_id", None)
    if not user_id:
        session = getattr(request_envelope, "session", None)
        user_id = getattr(getattr(session, "user", None), "user_id", None)
    if not user_id:
        raise PersistenceException("request has no user id")
    return str(user_id)


class SqlAlchemyPersistenceAdapter(AbstractPersistenceAdapter):
    """Stores one JSON document of attributes per Alexa user id in ``skill_state``.

    Database errors surface as the SDK's ``PersistenceException``; the skill's interceptors decide
    what the user hears, so this class never swallows them.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get_attributes(self, request_envelope: RequestEnvelope) -> dict[str, Any]:
        user_id = user_id_of(request_envelope)
        try:
            with self._sessions() as session:
                attributes = session.scalar(
                    select(SkillState.attributes).where(SkillState.alexa_user_id == user_id)
                )
        except SQLAlchemyError as exc:
            raise PersistenceException(f"could not read skill state: {exc.__class__.__name__}") from exc
        return dict(attributes or {})

    def save_attributes(self, request_envelope: RequestEnvelope, attributes: dict[str, Any]) -> None:
        user_id = user_id_of(request_envelope)
        try:
            with self._sessions.begin() as session:
                row = session.get(SkillState, user_id)
                if row is None:
                    session.add(SkillState(alexa_user_id=user_id, attributes=dict(attributes)))
                else:
                    # A new dict, so SQLAlchemy sees the JSON column as changed.
                    row.attributes = dict(attributes)
        except SQLAlchemyError as exc:
            raise PersistenceException(f"could not save skill state: {exc.__class__.__name__}") from exc

    def delete_attributes(self, request_envelope: RequestEnvelope) -> None:
        user_id = user_id_of(request_envelope)
        try:
            with self._sessions.begin() as session:
                session.execute(delete(SkillState).where(SkillState.alexa_user_id == user_id))
        except SQLAlchemyError as exc:
            raise PersistenceException(f"could not delete skill state: {exc.__class__.__name__}") from exc
