"""`python -m bot migrate`: the schema brought up to date as a deploy step, before any replica starts."""

from __future__ import annotations

import logging

from bot.runtime.logs import setup_logging
from bot.settings import DatabaseSettings, load_settings
from bot.storage.db import make_engine, schema_revisions, upgrade

logger = logging.getLogger(__name__)


async def run_migrate() -> int:
    """Needs only DATABASE_URL (no bot token): the deploy job that runs it has no other business with the bot."""
    settings = load_settings(DatabaseSettings)
    setup_logging(settings.LOG_LEVEL)
    engine = make_engine(settings.DATABASE_URL)
    try:
        before = await upgrade(engine)
        head = (await schema_revisions(engine))[1]
    finally:
        await engine.dispose()
    print(f"database at revision {head}" + ("" if before == head else f" (was {before or 'empty'})"))
    return 0
