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

from bot.jobs.outbox import OutboxSender
from bot.jobs.periodic import Periodic
from bot.services.payments import PaymentsService, PayResult
from bot.services.payouts import PayoutsService
from bot.services.users import UserService

logger = logging.getLogger(__name__)

class SettlementWorker(Periodic):
    name = "settlement-worker"

    def __init__(self, bot: Bot, payments: PaymentsService, outbox: OutboxSender, *, tick: float,
                 operator_chat_id: int | None = None, payouts: PayoutsService | None = None) -> None:
        super().__init__(tick=tick)
        self._bot, self._payments, self._outbox = bot, payments, outbox
        self._operator = operator_chat_id
        self._payouts = payouts

    async def run_pass(self) -> float:
        """Settle what is due (payouts' unclear answers too: the same runner), cancel payouts nobody confirmed in
        time, look for reversals of completed ones, then send what is owed: the users hear through the outbox,
        once."""
        for result in await self._payments.settle_due():
            if result.outcome == "refund_pending":
                await self._tell_operator(result)
        await self._payments.close_abandoned()
        if self._payouts is not None:
            await self._payouts.expire_prepared()
            await self._payouts.recheck_completed()
        await self._outbox.send_due()
        return await self._until_next()

    async def _until_next(self) -> float:
        due = [await self._payments.next_due_at()]
        if self._payouts is not None:
            due.append(await self._payouts.next_due_at())
        due_at = min((moment for moment in due if moment is not None), default=None)
        if due_at is None:
            return self._tick
        return max(0.01, min(self._tick, (due_at - datetime.now(UTC)).total_seconds()))

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
                       settings, payouts: PayoutsService | None = None) -> None:
    hand = payments.as_hand("worker")  # its claims and messages are told apart from the handlers'
    payouts_hand = payouts.as_hand("worker") if payouts is not None else None  # the same hand's name: one outbox
    outbox = OutboxSender(bot, hand, users, i18n, dispatcher.fsm.storage, dispatcher.fsm.events_isolation)
    worker = SettlementWorker(bot, hand, outbox, tick=settings.STATUS_WORKER_TICK,
                              operator_chat_id=settings.OPERATOR_CHAT_ID, payouts=payouts_hand)
    dispatcher["settlement_worker"] = worker
    worker.start()


async def stop_worker(dispatcher) -> None:
    worker = dispatcher.workflow_data.get("settlement_worker")
    if worker is not None:
        await worker.stop()
