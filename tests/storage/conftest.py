"""What the storage tests share: a migrated database's sessions (SQLite and PostgreSQL, by the suite's fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.storage.db import Sessions, make_engine, make_sessionmaker, upgrade


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(database_url)
    await upgrade(engine)
    yield make_sessionmaker(engine)
    await engine.dispose()
