"""The outbox sender in the worker: what a money state change owes a user and nobody has sent (its hand died, or
Telegram asked to wait) is sent here, in the user's language, and the user's conversation is put where that
outcome leaves it (no code step for a payment that is finished)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey
from aiogram.utils.i18n import I18n

from bot.chat.checkout import told_markup
from bot.chat.delivery import deliver
from bot.money.ledger import PayResult
from bot.money.outbox import Owed
from bot.money.paysys import PAYOUT_KINDS
from bot.services.payments import PaymentsService
from bot.services.users import UserService
from bot.services.payouts import payout_view
from bot.texts.payouts import payout_news
from bot.texts.receipts import outcome_text

logger = logging.getLogger(__name__)

MAX_PER_PASS = 200
LEAVE_WAIT = 5  # seconds the sender waits for a chat's lock before leaving its step alone


class OutboxSender:
    def __init__(self, bot: Bot, payments: PaymentsService, users: UserService, i18n: I18n,
                 storage: BaseStorage, isolation: BaseEventIsolation | None = None) -> None:
        self._bot, self._payments, self._users, self._i18n, self._storage = bot, payments, users, i18n, storage
        self._isolation = isolation

    async def send_due(self) -> int:
        """What this hand owes, then anything nobody is sending; each claimed before it is sent."""
        sent = 0
        outbox = self._payments.outbox
        for message_id in await outbox.mine():
            if (owed := await outbox.claim_id(message_id)) is not None:
                sent += await self._send(owed)
        seen: list[int] = []
        while len(seen) < MAX_PER_PASS and (owed := await outbox.pick(skip=seen)) is not None:
            seen.append(owed.id)
            sent += await self._send(owed)
        return sent

    async def _send(self, owed: Owed) -> bool:
        try:
            payment = await self._payments.payment(owed.payment_id)
            result = PayResult(owed.kind, payment)  # type: ignore[arg-type]
            profile = await self._users.get(owed.user_id)
            with self._i18n.context(), self._i18n.use_locale((profile and profile.language) or "en"):
                if owed.kind in PAYOUT_KINDS:  # a payout's news: cashback or a refund (bot.money.paysys)
                    text, markup = payout_news(owed.kind, payout_view(payment)), None
                else:
                    text, markup = outcome_text(result), told_markup(result)
                done = await deliver(self._payments.outbox, owed,
                                     lambda: self._bot.send_message(owed.user_id, text, reply_markup=markup))
            if done:
                await self._leave_payment(owed)
            return done
        except Exception:  # noqa: BLE001 - one message must not stop the others; its lease runs out
            logger.exception("outbox %s could not be sent", owed.id)
            return False

    async def _leave_payment(self, owed: Owed) -> None:
        """A conversation still waiting on this payment (a code step, a confirm) is over: it has an outcome. Under
        the chat's lock, as an update takes it (shared by replicas with Redis): an update of the same chat handled
        meanwhile on any replica is never overwritten. A chat busy for longer is left as it is; its handlers see the
        payment's outcome in the ledger."""
        key = StorageKey(bot_id=self._bot.id, chat_id=owed.user_id, user_id=owed.user_id)
        state = FSMContext(storage=self._storage, key=key)
        try:
            async with asyncio.timeout(LEAVE_WAIT):
                async with self._isolation.lock(key) if self._isolation else contextlib.nullcontext():
                    data = await state.get_data()
                    if owed.payment_id in (data.get("payment_id"), data.get("payout_id")):
                        await state.clear()
        except TimeoutError:
            logger.info("outbox %s: chat busy, its step left as it is", owed.id)
