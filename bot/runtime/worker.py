"""`python -m bot worker`: only the background jobs (settlement, reminders, reconciliation), no updates.

Run beside the replicas that serve updates, or as extra workers: every job claims its rows in the database, so any
number of them share the work without doing anything twice.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.app import build_bot, build_dispatcher, open_services
from bot.runtime.logs import setup_logging
from bot.settings import Settings

logger = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    setup_logging(settings.LOG_LEVEL)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    async with open_services(settings) as services:
        bot = build_bot(services.settings)
        dispatcher = build_dispatcher(services.settings, services, updates=False)
        workflow = {"dispatcher": dispatcher, "bots": [bot], "bot": bot, **dispatcher.workflow_data}
        try:
            me = await bot.get_me()  # the token works before any job runs
            await dispatcher.emit_startup(**workflow)
            logger.info("worker of @%s running (providers: %s)", me.username, settings.PROVIDERS)
            await stopping.wait()
        finally:
            await dispatcher.emit_shutdown(**workflow)
            await bot.session.close()
