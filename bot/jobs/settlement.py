"""The settlement worker: on every replica, it has the money engine settle what is due (unknown outcomes, claims
whose holder died, scheduled checks), closes payments nobody finished, and tells users once an answer is final.
Its work comes from the database and every row is claimed first, so a restart or a second replica loses nothing and
does nothing twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n

from bot.jobs.periodic import Periodic
from bot.services.payments import PaymentsService, PayResult
from bot.services.users import UserService
from bot.texts.receipts import outcome_text

logger = logging.getLogger(__name__)

# Outcomes the user hears about from the worker; "refunding" too: money left the card and is on its way back.
FINAL = ("paid", "failed", "gave_up", "refunding", "refunded", "refund_pending")


class SettlementWorker(Periodic):
    name = "settlement-worker"

    def __init__(self, bot: Bot, payments: PaymentsService, users: UserService, i18n: I18n, *, tick: float,
                 operator_chat_id: int | None = None) -> None:
        super().__init__(tick=tick)
        self._bot, self._payments, self._users, self._i18n = bot, payments, users, i18n
        self._operator = operator_chat_id

    async def run_pass(self) -> float:
        for result in await self._payments.settle_due():
            if result.outcome in FINAL:
                await self._tell(result)
            if result.outcome == "refund_pending":
                await self._tell_operator(result)
        await self._payments.close_abandoned()
        return await self._until_next()

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

    async def _tell_operator(self, result: PayResult) -> None:
        """A refund the automatic attempts could not finish: a person must look at it."""
        payment = result.payment
        logger.error("payment %s: refund attempts exhausted (receipt %s)", payment.id, payment.receipt_id)
        if self._operator is None:
            return
        try:
            await self._bot.send_message(self._operator, (
                f"Refund needs a person: payment {payment.id}, Payme receipt {payment.receipt_id}, "
                f"{payment.amount} sum; {payment.refund_attempts} receipts.cancel attempts did not take."))
        except TelegramAPIError:
            logger.warning("could not tell the operator about payment %s", payment.id)


async def start_worker(bot: Bot, dispatcher, payments: PaymentsService, users: UserService, i18n: I18n,
                       settings) -> None:
    worker = SettlementWorker(bot, payments, users, i18n, tick=settings.STATUS_WORKER_TICK,
                              operator_chat_id=settings.OPERATOR_CHAT_ID)
    dispatcher["settlement_worker"] = worker
    worker.start()


async def stop_worker(dispatcher) -> None:
    worker = dispatcher.workflow_data.get("settlement_worker")
    if worker is not None:
        await worker.stop()
