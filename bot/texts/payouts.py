"""What a user is told of a payout they did not see finish in the chat (the outbox: bot.money.paysys's kinds):
a cashback withdrawal completed late, failed or cancelled out of sight, reversed after completion, or an operator's
refund sent to their card. One function per kind, all through `payout_news`."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.money.paysys import (
    PAYOUT_CANCELLED,
    PAYOUT_FAILED,
    PAYOUT_GAVE_UP,
    PAYOUT_PAID,
    PAYOUT_REVERSED,
    REFUND_REVERSED,
    REFUND_SENT,
)
from bot.services.payouts import PayoutView
from bot.texts.amounts import sums_number
from bot.texts.cashback import payout_card


def payout_news(kind: str, payout: PayoutView) -> str:
    amount = sums_number(payout.amount_sums)
    if kind == PAYOUT_PAID:
        return _("✅ Your cashback withdrawal of {amount} sum to the card {card} is complete.").format(
            amount=amount, card=payout_card(payout))
    if kind == PAYOUT_FAILED:
        return _("The cashback withdrawal of {amount} sum did not go through. Nothing was sent, and the money is "
                 "back on your cashback balance.").format(amount=amount)
    if kind == PAYOUT_CANCELLED:
        if payout.error_code == "expired":
            return _("The cashback withdrawal of {amount} sum was not confirmed within 5 minutes, so I cancelled "
                     "it. The money is back on your cashback balance.").format(amount=amount)
        return _("The cashback withdrawal of {amount} sum is cancelled. The money is back on your cashback "
                 "balance.").format(amount=amount)
    if kind == PAYOUT_REVERSED:
        return _("↩️ The cashback withdrawal of {amount} sum to the card {card} was returned by the bank. The money "
                 "is back on your cashback balance.").format(amount=amount, card=payout_card(payout))
    if kind == PAYOUT_GAVE_UP:
        return _("I could not confirm the cashback withdrawal of {amount} sum to the card {card}. Our team is "
                 "checking it; the money stays held meanwhile. Reference: {id}.").format(
            amount=amount, card=payout_card(payout), id=payout.partner_id)
    if kind == REFUND_SENT:
        return _("↩️ A refund of {amount} sum for your payment #{payment} was sent to the card {card}.").format(
            amount=amount, payment=payout.refund_of, card=payout_card(payout))
    if kind == REFUND_REVERSED:
        return _("The refund of {amount} sum for your payment #{payment} was returned by the bank. Our team will "
                 "contact you.").format(amount=amount, payment=payout.refund_of)
    raise ValueError(f"not a payout's news: {kind}")
