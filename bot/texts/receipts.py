"""Texts about one payment: the summary before paying, the receipt after, the fate of one that did not finish.

Used by the pay flow and by the start-up settlement of unfinished payments, so both say the same thing.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.money.ledger import PaymentView, PayResult
from bot.providers.errors import ProviderRejected
from bot.texts import formats
from bot.texts.amounts import sums_number
from bot.texts.labels import shown
from bot.texts import receipt_model
from bot.texts.outcomes import provider_text


def _card(payment: PaymentView) -> str:
    """The card a payment used, as every message names a card (UZCARD •6311)."""
    return shown(formats.card(None, payment.card_masked)) if payment.card_masked else "—"


def summary(*, service: str, account_display: list[list[str]], amount: int, card: str, can_cancel: bool) -> str:
    lines = [_("<b>Check the payment</b>"), _("Service: {name}").format(name=shown(service))]
    lines += [f"{label}: <b>{value}</b>" for label, value in account_display]
    lines.append(_("Amount: <b>{amount} sum</b>").format(amount=sums_number(amount)))
    lines.append(_("Card: {card}").format(card=shown(card)))
    if not can_cancel:
        lines.append(_("⚠️ This payment cannot be reversed once made."))
    return "\n".join(lines)


def receipt(payment: PaymentView) -> str:
    """The chat's receipt, from the same model as the picture (bot.texts.receipt_model)."""
    return receipt_model.as_text(receipt_model.build(payment))


def settling(payment: PaymentView) -> str:
    return _(
        "⏳ Your card was charged {amount} sum (Payme receipt {receipt}). The provider has not yet confirmed the "
        "payment for {service}; I'm checking and will tell you. If it cannot be paid, the money goes back to the card."
    ).format(amount=sums_number(payment.amount), receipt=shown(payment.receipt_id or "—"),
             service=shown(payment.service_name))


def refund(payment: PaymentView, *, done: bool) -> str:
    head = _("↩️ <b>Not paid</b>: {service}, {amount} sum.").format(
        service=shown(payment.service_name), amount=sums_number(payment.amount))
    body = (_("The provider did not accept the payment, so the charge was cancelled: {amount} sum is back on "
              "the card {card}.") if done else
            _("The provider did not accept the payment, so I cancelled the charge: {amount} sum is on its way back "
              "to the card {card}. I'll tell you when it arrives."))
    return "\n".join([head, body.format(amount=sums_number(payment.amount), card=_card(payment)),
                      _("Payme receipt: {id}").format(id=shown(payment.receipt_id or "—"))])


def failure(payment: PaymentView, reason: str) -> str:
    return "\n".join([
        _("❌ <b>Not paid</b>: {service}, {amount} sum.").format(
            service=shown(payment.service_name), amount=sums_number(payment.amount)),
        reason,
        _("Your card was not charged."),
    ])


def failure_reason(payment: PaymentView) -> str:
    """Why a payment ended not paid, in the user's words: our own codes, else the provider's."""
    if payment.error_code == "too_many_attempts":
        return _("Three wrong codes: the payment was cancelled.")
    if payment.error_code == "provider_unavailable":
        return _("The payment provider did not answer.")
    if payment.error_code == "cancelled":
        return _("The provider cancelled the payment.")
    if payment.error_code == "not_charged":  # Payme never charged the receipt, and it is now cancelled
        return _("The payment did not go through.")
    return provider_text(ProviderRejected(payment.error_code or "", payment.error_message or ""))


def pending(payment: PaymentView) -> str:
    return _(
        "⏳ We don't know yet whether the payment of {amount} sum for {service} went through. "
        "I'm checking with the provider and will tell you. Do not pay it again meanwhile. Transaction: {id}"
    ).format(amount=sums_number(payment.amount), service=shown(payment.service_name),
             id=shown((payment.receipt_id if payment.rail == "payme" else payment.transaction_id) or "—"))


def outcome_text(result: PayResult) -> str:
    """What became of a payment, told once it is known (by the flow, or later by the settlement worker)."""
    payment = result.payment
    if result.outcome == "paid":
        return receipt(payment)
    if result.outcome == "failed":
        return failure(payment, failure_reason(payment))
    if result.outcome == "settling":
        return settling(payment)
    if result.outcome in ("refunding", "refunded"):
        return refund(payment, done=result.outcome == "refunded")
    if result.outcome == "refund_pending":
        return _(
            "↩️ The refund of {amount} sum to the card {card} is taking longer than usual. Our team is on it, and I'll "
            "tell you when the money is back. Payme receipt: {receipt}."
        ).format(amount=sums_number(payment.amount), card=_card(payment),
                 receipt=shown(payment.receipt_id or "—"))
    if payment.rail == "payme":
        return _(
            "I could not confirm the payment of {amount} sum for {service}. Please contact support with the Payme "
            "receipt {receipt}; do not pay it again meanwhile."
        ).format(amount=sums_number(payment.amount), service=shown(payment.service_name),
                 receipt=shown(payment.receipt_id or "—"))
    return _(
        "I could not confirm the payment of {amount} sum for {service}: the provider has not confirmed a charge. "
        "If money left your card, please contact support with the transaction ID {id}."
    ).format(amount=sums_number(payment.amount), service=shown(payment.service_name),
             id=shown(payment.transaction_id or "—"))
