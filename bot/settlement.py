"""The settlement worker: in the bot process, it asks transaction/status for every unsettled payment on its
schedule and tells the user once the answer is final. Its work comes from the database, so a restart loses none."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n

from bot.periodic import Periodic
from bot.receipts import outcome_text
from bot.services.payments import PaymentsService, PayResult
from bot.services.users import UserService

logger = logging.getLogger(__name__)

# Outcomes the user hears about from the worker; "refunding" too: money left the card and is on its way back.
FINAL = ("paid", "failed", "gave_up", "refunding", "refunded")


class SettlementWorker(Periodic):
    name = "settlement-worker"

    def __init__(self, bot: Bot, payments: PaymentsService, users: UserService, i18n: I18n, *, tick: float) -> None:
        super().__init__(tick=tick)
        self._bot, self._payments, self._users, self._i18n = bot, payments, users, i18n
        self._startup = True  # the first pass also takes every orphaned `paying` row

    async def run_pass(self) -> float:
        await self.settle_due(startup=self._startup)
        self._startup = False
        return await self._until_next()

    async def settle_due(self, *, startup: bool = False) -> None:
        for payment_id in await self._payments.due(startup=startup):
            result = await self._payments.check(payment_id)
            if result.outcome in FINAL:
                await self._tell(result)

    async def _until_next(self) -> float:
        due_at = await self._payments.next_due_at()
        if due_at is None:
            return self._tick
        return max(0.01, min(self._tick, (due_at - datetime.now(UTC)).total_seconds()))

    async def _tell(self, result: PayResult) -> None:
        profile = await self._users.get(result.payment.user_id)
        with self._i18n.context(), self._i18n.use_locale((profile and profile.language) or "en"):
            text = outcome_text(result)
        try:
            await self._bot.send_message(result.payment.user_id, text)
        except TelegramAPIError:
            logger.warning("could not tell user %s about payment %s", result.payment.user_id, result.payment.id)


async def start_worker(bot: Bot, dispatcher, payments: PaymentsService, users: UserService, i18n: I18n,
                       settings) -> None:
    worker = SettlementWorker(bot, payments, users, i18n, tick=settings.STATUS_WORKER_TICK)
    dispatcher["settlement_worker"] = worker
    worker.start()


async def stop_worker(dispatcher) -> None:
    worker = dispatcher.workflow_data.get("settlement_worker")
    if worker is not None:
        await worker.stop()
