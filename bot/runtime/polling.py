"""Long polling for production and the live-Telegram-with-sandbox-money mode."""

from __future__ import annotations

import logging

from bot.app import build_bot, build_dispatcher, open_services
from bot.runtime.heap import freeze_startup_heap
from bot.runtime.logs import setup_logging
from bot.settings import Settings

logger = logging.getLogger(__name__)


async def run_polling(settings: Settings) -> None:
    setup_logging(settings.LOG_LEVEL)
    async with open_services(settings) as services:
        bot = build_bot(services.settings)
        dp = build_dispatcher(services.settings, services)
        logger.info("starting long polling (providers: %s)", settings.PROVIDERS)
        freeze_startup_heap()
        try:
            await dp.start_polling(bot, tasks_concurrency_limit=settings.UPDATE_CONCURRENCY)
        finally:
            await bot.session.close()
