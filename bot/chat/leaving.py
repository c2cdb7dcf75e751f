"""What leaving a step says: /cancel, the payment's Cancel button and /language are worded by where the user was,
and a payment is called cancelled (not charged) only when the money engine closed it before any pay call."""

from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.domain.payments import PaymentState
from bot.services.payments import PaymentClosed, PaymentsService
from bot.states import AddCard, Cashback, Pay, Refund
from bot.texts.amounts import sums_number
from bot.texts.labels import shown


async def close_payment(payments: PaymentsService, user_id: int, data: dict[str, Any]) -> str | None:
    """Close the payment this conversation holds, if no pay call was made (the ledger's conditional update decides);
    what to tell the user, or None when the conversation holds no payment."""
    payment_id = data.get("payment_id")
    if payment_id is None:
        return None
    try:
        payment = await payments.abandon(user_id, payment_id) or await payments.get(user_id, payment_id)
    except PaymentClosed:
        return None
    if payment.state == PaymentState.failed:  # closed now, or earlier: either way nothing was charged
        return _("The payment of {amount} sum for {service} is cancelled. Your card was not charged.").format(
            amount=sums_number(payment.amount), service=shown(payment.service_name))
    return _("The payment of {amount} sum for {service} is already being processed, so it cannot be cancelled. "
             "I'll tell you how it ends.").format(amount=sums_number(payment.amount),
                                                 service=shown(payment.service_name))


async def cancel_text(payments: PaymentsService, user_id: int, current: str | None, data: dict[str, Any]) -> str:
    """What a cancel closed, by the step it was pressed or typed at (call it before the state is cleared)."""
    closed = await close_payment(payments, user_id, data)
    if closed is not None:
        return closed
    if current == Pay.browse.state:
        return _("Search closed. No payment was started.")
    if current in (Pay.form.state, Pay.amount.state, Pay.card.state):
        return _("Payment setup closed. No payment was made.")
    if current == Pay.confirm.state:
        return _("The payment is cancelled. Nothing was charged.")
    if current == AddCard.name.state:
        return _("The card is saved.")
    if current in AddCard.__all_states_names__:
        return _("Adding the card is cancelled. Nothing was saved.")
    if current in Cashback.__all_states_names__:
        return _("The withdrawal is cancelled. Nothing was sent.")
    if current in Refund.__all_states_names__:
        return _("The refund is cancelled. Nothing was sent.")
    if current is None:
        return _("There is nothing to cancel.")
    return _("Cancelled. Nothing was saved.")
