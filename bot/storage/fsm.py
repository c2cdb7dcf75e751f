"""aiogram FSM storage over our own database: aiogram ships none for SQL, and a restart must keep every step."""

from __future__ import annotations

from collections.abc import Mapping
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


class SqlStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker, key_builder: KeyBuilder | None = None) -> None:
        self._sessions = sessionmaker
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        record = await self._read(key)
        return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = await self._read(key)
        return dict(record.data) if record and record.data else {}

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""

    async def _read(self, key: StorageKey) -> FsmRecord | None:
        async with self._sessions() as session:
            return await session.get(FsmRecord, self._keys.build(key))

    async def _write(self, key: StorageKey, **values: Any) -> None:
        """Update-or-insert without dialect-specific upserts; one user's events are serialised by event isolation."""
        row_key = self._keys.build(key)
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
