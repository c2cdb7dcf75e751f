"""The migrations build exactly the schema the models describe, and run twice without harm."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.storage.db import make_engine, upgrade
from bot.storage.models import Base


async def test_migrations_match_models(database_url):
    engine = make_engine(database_url)
    await upgrade(engine)
    await upgrade(engine)
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    await engine.dispose()
    assert diff == []
