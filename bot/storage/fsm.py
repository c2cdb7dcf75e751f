"""aiogram FSM storage over our own database: aiogram ships none for SQL, and a restart must keep every step."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.storage.models import FsmRecord


# What this update has read or written, per key: handlers and middlewares ask for the state and data several times
# per update, and one read is enough. It lives for one update only: another replica may change the row between two.
_seen: ContextVar[dict[str, tuple[str | None, dict]] | None] = ContextVar("fsm_seen", default=None)


@contextmanager
def one_update() -> Iterator[None]:
    """Around one update's handling: reads of the same key are served from what this update already knows."""
    token = _seen.set({})
    try:
        yield
    finally:
        _seen.reset(token)


class SqlStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker, key_builder: KeyBuilder | None = None) -> None:
        self._sessions = sessionmaker
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._read(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._read(key))[1])

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""

    async def _read(self, key: StorageKey) -> tuple[str | None, dict]:
        row_key = self._keys.build(key)
        seen = _seen.get()
        if seen is not None and row_key in seen:
            return seen[row_key]
        async with self._sessions() as session:
            record = await session.get(FsmRecord, row_key)
        found = (record.state, dict(record.data or {})) if record else (None, {})
        if seen is not None:
            seen[row_key] = found
        return found

    async def _write(self, key: StorageKey, **values: Any) -> None:
        """Update-or-insert without dialect-specific upserts; one user's events are serialised by event isolation."""
        row_key = self._keys.build(key)
        seen = _seen.get()
        if seen is not None:
            seen.pop(row_key, None)  # read again after a write: the row may have been removed
        async with self._sessions.begin() as session:
            result = await session.execute(update(FsmRecord).where(FsmRecord.key == row_key).values(**values))
            if result.rowcount == 0:
                session.add(FsmRecord(key=row_key, **{"state": None, "data": {}, **values}))
            elif self._empty(values):
                record = (await session.execute(select(FsmRecord).where(FsmRecord.key == row_key))).scalar_one()
                if record.state is None and not record.data:
                    await session.execute(delete(FsmRecord).where(FsmRecord.key == row_key))

    @staticmethod
    def _empty(values: Mapping[str, Any]) -> bool:
        return all(not value for value in values.values())
