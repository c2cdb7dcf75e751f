"""At start: every payment left `paying` or `unknown` is settled through transaction/status and its user told."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.money import format_sums
from bot.labels import shown
from bot.receipts import failure, pending, receipt
from bot.services.payments import PaymentsService, PayResult
from bot.services.users import UserService

logger = logging.getLogger(__name__)


async def settle_unfinished(bot: Bot, payments: PaymentsService, users: UserService, i18n: I18n) -> None:
    for payment_id in await payments.unsettled():
        result = await payments.check(payment_id)
        profile = await users.get(result.payment.user_id)
        with i18n.context(), i18n.use_locale((profile and profile.language) or "en"):
            text = outcome_text(result)
        try:
            await bot.send_message(result.payment.user_id, text)
        except TelegramAPIError:
            logger.warning("could not tell user %s about payment %s", result.payment.user_id, payment_id)


def outcome_text(result: PayResult) -> str:
    payment = result.payment
    if result.outcome == "paid":
        return receipt(payment)
    if result.outcome == "failed":
        return failure(payment, _("The provider cancelled the payment."))
    if result.outcome == "not_charged":
        return _("The payment of {amount} sum for {service} did not go through; your card was not charged. "
                 "Type the SMS code again to retry, or start a new payment.").format(
            amount=format_sums(payment.amount), service=shown(payment.service_name))
    return pending(payment)
