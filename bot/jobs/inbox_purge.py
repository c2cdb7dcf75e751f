"""Webhook mode: the update inbox forgets, once an hour, the updates Telegram will never re-send (older than 48 h)."""

from __future__ import annotations

import logging

from aiogram import Dispatcher

from bot.jobs.periodic import Periodic
from bot.services.inbox import UpdateInbox

logger = logging.getLogger(__name__)

PURGE_TICK = 3600.0


class InboxPurge(Periodic):
    name = "inbox-purge"

    def __init__(self, inbox: UpdateInbox, *, tick: float = PURGE_TICK) -> None:
        super().__init__(tick=tick)
        self._inbox = inbox

    async def run_pass(self) -> float | None:
        gone = await self._inbox.purge()
        if gone:
            logger.info("update inbox: %s updates older than 48 hours forgotten", gone)
        return None


async def start_inbox_purge(dispatcher: Dispatcher) -> None:
    inbox = dispatcher.workflow_data.get("inbox")  # set by the webhook server; polling keeps no inbox
    if inbox is not None:
        purge = InboxPurge(inbox)
        dispatcher["inbox_purge"] = purge
        purge.start()


async def stop_inbox_purge(dispatcher: Dispatcher) -> None:
    purge = dispatcher.workflow_data.get("inbox_purge")
    if purge is not None:
        await purge.stop()
