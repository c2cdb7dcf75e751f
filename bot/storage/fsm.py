"""aiogram FSM storage over our own database: aiogram ships none for SQL, and a restart must keep every step.

Per update (bot.storage.update_scope) the FSM row and the sender's profile are read together in one statement, and
a write that changes nothing is not made; a change is one statement (an upsert, or a delete when the step and its
data are both empty, which is also what `clear()` sends).

That read goes past SQLAlchemy (bot.storage.direct): on SQLite on the event loop's own thread (two primary-key
lookups take tens of microseconds there, while aiosqlite's worker thread costs a thread hop per cursor, statement,
fetch and close, about 1.3 ms of CPU per update, the largest cost of an update on the bench); on PostgreSQL on the
engine's small asyncpg pool (bursts of 50-200 users: 1.0-1.4 ms of CPU an update down to ~1.1).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import update_scope
from bot.storage.db import direct_path, read_alone
from bot.storage.models import FsmRecord, User, utcnow
from bot.storage.update_scope import UserRow

Row = tuple[str | None, dict]


def _state_and_profile() -> Select:
    fsm = select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == bindparam("key"))
    user = select(User.id, User.language, User.phone).where(User.id == bindparam("user_id"))
    return select(*(query.with_only_columns(column).scalar_subquery() for query, column in (
        (fsm, FsmRecord.state), (fsm, FsmRecord.data), (user, User.id), (user, User.language), (user, User.phone))))


# Built once: the update's one read, the conversation and the sender's profile together.
STATE_AND_PROFILE = _state_and_profile()


class SqlStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker, key_builder: KeyBuilder | None = None) -> None:
        self._sessions = sessionmaker
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)
        self._direct = direct_path(sessionmaker.kw["bind"])  # the per-update read's way past SQLAlchemy

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._read(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._read(key))[1])

    async def clear(self, key: StorageKey) -> None:
        """The step and its data gone in one statement (FSMContext.clear would write twice)."""
        await self._write(key, state=None, data={})

    async def close(self) -> None:
        """The engine (and its direct path) belongs to the application, which disposes of it."""

    async def _read(self, key: StorageKey) -> Row:
        row_key = self._keys.build(key)
        scope = update_scope.current()
        if scope is not None and row_key in scope.fsm:
            return scope.fsm[row_key]
        # One statement for both: the conversation and the sender's profile (read by ProfileMiddleware next).
        row = None
        if self._direct is not None:
            if self._direct.sqlite is not None:
                row = self._direct.read_sqlite(SQLITE_QUERY, (row_key, key.user_id))
                if row is not None:
                    state, data, *profile = row
                    row = (state, json.loads(data) if data else {}, *profile)
            elif self._direct.postgresql:
                row = await self._read_postgresql(row_key, key.user_id)
        if row is None:
            row = (await read_alone(self._sessions.kw["bind"], STATE_AND_PROFILE,
                                    {"key": row_key, "user_id": key.user_id}))[0]
        state, data, user_id, language, phone = row
        found: Row = (state, dict(data or {}))
        if scope is not None:
            scope.fsm[row_key] = found
            scope.users.setdefault(key.user_id, UserRow(user_id, language, phone) if user_id is not None else None)
        return found

    async def _read_postgresql(self, row_key: str, user_id: int) -> tuple | None:
        """The same statement on the engine's direct asyncpg pool (prepared once per connection by asyncpg):
        SQLAlchemy's pool checkout, statement and result layers cost more CPU than the query, and a burst of users
        pays it per update. Anything unusual (a connection the server ended, the server away) returns None: the
        engine's path reads it, with its retry."""
        try:
            record = await self._direct.fetchrow(POSTGRESQL_QUERY, row_key, user_id)
        except Exception:  # noqa: BLE001 - whatever the driver raised, the engine's path decides
            return None
        state, data, found_id, language, phone = record
        return state, json.loads(data) if isinstance(data, str) else (data or {}), found_id, language, phone

    async def _write(self, key: StorageKey, **values: Any) -> None:
        row_key = self._keys.build(key)
        scope = update_scope.current()
        known = scope.fsm.get(row_key) if scope is not None else None
        if known is None:
            known = await self._read_one(row_key)
        state, data = values.get("state", known[0]), values.get("data", known[1])
        if (state, data) == known:
            return  # nothing changed: no write
        async with self._sessions.begin() as session:
            if state is None and not data:
                await session.execute(delete(FsmRecord).where(FsmRecord.key == row_key))
            else:
                await _upsert(session, row_key, state, data, changed=tuple(values))
        if scope is not None:
            scope.fsm[row_key] = (state, dict(data))

    async def _read_one(self, row_key: str) -> Row:
        """Outside an update (the outbox, the card page's notice): the row as it is now."""
        async with self._sessions() as session:
            record = await session.get(FsmRecord, row_key)
        return (record.state, dict(record.data or {})) if record else (None, {})


POSTGRESQL_QUERY = ("SELECT f.state, f.data, u.id, u.language, u.phone FROM (SELECT 1) AS one "
                    "LEFT JOIN fsm_states AS f ON f.key = $1 LEFT JOIN users AS u ON u.id = $2")
SQLITE_QUERY = ("SELECT f.state, f.data, u.id, u.language, u.phone FROM (SELECT 1) AS one "
                "LEFT JOIN fsm_states AS f ON f.key = ? LEFT JOIN users AS u ON u.id = ?")


async def _upsert(session: AsyncSession, row_key: str, state: str | None, data: dict, *,
                  changed: tuple[str, ...]) -> None:
    """A new row gets both columns; an existing one only the columns this write changes (set_state leaves the data
    as it is in the row, as a plain UPDATE of the state would)."""
    values = {"key": row_key, "state": state, "data": data, "updated_at": utcnow()}
    dialect = session.bind.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = (sqlite if dialect == "sqlite" else postgresql).insert(FsmRecord).values(**values)
        await session.execute(insert.on_conflict_do_update(
            index_elements=[FsmRecord.key], set_={name: insert.excluded[name] for name in (*changed, "updated_at")}))
        return
    result = await session.execute(update(FsmRecord).where(FsmRecord.key == row_key)
                                   .values(**{name: values[name] for name in (*changed, "updated_at")}))
    if result.rowcount == 0:
        session.add(FsmRecord(**values))


class SqlContext(FSMContext):
    async def clear(self) -> None:
        clear = getattr(self.storage, "clear", None)
        if clear is None:
            await super().clear()
        else:
            await clear(self.key)


class FsmMiddleware(FSMContextMiddleware):
    """aiogram's FSM middleware (the per-user lock, then the state), with a context whose clear() is one write."""

    def resolve_context(self, bot: Bot, chat_id: int | None, user_id: int | None, *args: Any,
                        **kwargs: Any) -> FSMContext | None:
        context = super().resolve_context(bot, chat_id, user_id, *args, **kwargs)
        return SqlContext(storage=context.storage, key=context.key) if context is not None else None
