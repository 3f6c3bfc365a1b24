"""The ask-sdk persistence adapter, on SQLAlchemy: per-user skill state that outlives a session.

It sits on the request path of every request with a user, so it reads with one prepared Core
statement (no ORM session): the user's state and, at launch, the pending greeting the reminders
worker left in ``users`` (see ``scheduler.queries.set_pending_greetings``) come back in one row of
one round trip. Writes happen only when a handler changed something (``SaveState``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_model import RequestEnvelope
from sqlalchemy import (
    BindParameter,
    Engine,
    Select,
    TextualSelect,
    bindparam,
    column,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from scheduler.db import autocommit_reads, utcnow
from scheduler.models import SkillState, User

log = logging.getLogger(__name__)

_USER: BindParameter[str] = bindparam("user")
# Scalar subqueries, so a user with no state row (or no users row) still gets exactly one row.
_ATTRIBUTES = select(SkillState.attributes).where(SkillState.alexa_user_id == _USER).scalar_subquery()
_GREETING = select(User.pending_greeting).where(User.alexa_user_id == _USER).scalar_subquery()


def _as_text(statement: Select[Any]) -> TextualSelect:
    """The same SQL as fixed text, its columns typed as before (the attributes still read as JSON).

    SQLAlchemy finds a statement's compiled form by a key it builds from the statement on every
    execution; for a select of two subqueries that walk is a good part of the read, for a text it is
    the text itself.
    """
    columns = [column(f"c{index}", c.type) for index, c in enumerate(statement.selected_columns)]
    compiled = statement.compile()
    user = bindparam(_USER.key, type_=compiled.binds[_USER.key].type)
    return text(str(compiled)).bindparams(user).columns(*columns)


_READ_STATE = _as_text(select(_ATTRIBUTES))
_READ_STATE_AND_GREETING = _as_text(select(_ATTRIBUTES, _GREETING))


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


@dataclass(frozen=True)
class StoredState:
    """What one read returns: the user's attributes, and the pending greeting when asked for."""

    attributes: dict[str, Any]
    greeting: str | None = None


class SqlAlchemyPersistenceAdapter(AbstractPersistenceAdapter):
    """Stores one JSON document of attributes per Alexa user id in ``skill_state``.

    Database errors surface as the SDK's ``PersistenceException``; the skill's interceptors decide
    what the user hears, so this class never swallows them.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reads = autocommit_reads(engine)

    def load(self, request_envelope: RequestEnvelope, *, greeting: bool = False) -> StoredState:
        """The user's attributes, and with ``greeting`` the pending greeting too, in one SELECT."""
        user_id = user_id_of(request_envelope)
        statement = _READ_STATE_AND_GREETING if greeting else _READ_STATE
        for attempt in (1, 2):
            try:
                with self._reads.connect() as connection:
                    row = connection.execute(statement, {"user": user_id}).one()
                break
            except DBAPIError as exc:
                # A pooled connection the database closed (a restart, an idle timeout): SQLAlchemy
                # has now discarded every pooled connection, so one more try gets a fresh one. This
                # read comes first in every request, so it stands in for a ping on each checkout.
                if attempt == 1 and exc.connection_invalidated:
                    log.warning("database connection was closed; reading skill state again")
                    continue
                raise PersistenceException(f"could not read skill state: {exc.__class__.__name__}") from exc
            except SQLAlchemyError as exc:
                raise PersistenceException(f"could not read skill state: {exc.__class__.__name__}") from exc
        return StoredState(dict(row[0] or {}), row[1] if greeting else None)

    def get_attributes(self, request_envelope: RequestEnvelope) -> dict[str, Any]:
        return self.load(request_envelope).attributes

    def save_attributes(self, request_envelope: RequestEnvelope, attributes: dict[str, Any]) -> None:
        user_id = user_id_of(request_envelope)
        values = {"attributes": dict(attributes), "updated_at": utcnow()}
        change = update(SkillState).where(SkillState.alexa_user_id == user_id).values(values)
        try:
            try:
                with self._engine.begin() as connection:
                    # Most saves are for a user who has a row: one statement. A first save inserts.
                    if connection.execute(change).rowcount == 0:
                        connection.execute(insert(SkillState).values(alexa_user_id=user_id, **values))
            except IntegrityError:
                # A concurrent first request of the same user inserted the row: update it instead.
                with self._engine.begin() as connection:
                    connection.execute(change)
        except SQLAlchemyError as exc:
            raise PersistenceException(f"could not save skill state: {exc.__class__.__name__}") from exc

    def delete_attributes(self, request_envelope: RequestEnvelope) -> None:
        user_id = user_id_of(request_envelope)
        try:
            with self._engine.begin() as connection:
                connection.execute(delete(SkillState).where(SkillState.alexa_user_id == user_id))
        except SQLAlchemyError as exc:
            raise PersistenceException(f"could not delete skill state: {exc.__class__.__name__}") from exc
