"""What the Cashback screen, a withdrawal and an operator's refund say. Amounts of the balance are tiyin (cashback
is a share of a bill, rounded down to the tiyin); payouts are whole sums."""

from __future__ import annotations

from decimal import Decimal

from aiogram import html
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.providers.errors import ProviderRejected
from bot.services.payouts import CashbackView, PayoutRefused, PayoutView, RefundTarget
from bot.texts import formats
from bot.texts.amounts import sums_number, tiyin, tiyin_number

REFUSED = {
    "below_min": __("Withdrawals start from {min_sums} sum."),
    "above_balance": __("Your cashback balance allows at most {max_sums} sum."),
    "above_max": __("At most {max_sums} sum can be sent at once."),
    "payout_open": __("A withdrawal is already under way. Please wait until it finishes."),
    "disabled": __("Withdrawals are not available right now. Please try later."),
    "not_operator": __("This command is for operators only."),
    "not_found": __("There is no such payment."),
    "not_paid": __("That payment is not paid, so there is nothing to refund."),
    "already_refunded": __("That payment already has a refund."),
    "manual_handling": __("This refund is above {max_sums} sum: it needs manual handling, not the bot."),
}


def payout_card(payout: PayoutView) -> str:
    """The card a payout went to, as PaySys masked it, named the way every message names a card."""
    return html.quote(formats.card(None, payout.card_masked)) if payout.card_masked else "—"


def percent_text(percent: Decimal) -> str:
    return format(percent.normalize(), "f")


def cashback_text(view: CashbackView, percent: Decimal) -> str:
    lines = [_("💰 <b>Cashback: {balance} sum</b>").format(balance=tiyin_number(view.balance_tiyin)),
             _("You get {percent}% back from every paid bill. Withdraw it to any UzCard or HUMO card, from "
               "1 000 sum.").format(percent=percent_text(percent))]
    if view.open_payout is not None:
        payout = view.open_payout
        lines.append(_("⏳ A withdrawal of {amount} sum is under way.").format(amount=sums_number(payout.amount_sums)))
    if view.recent:
        lines.append("")
        lines.append(_("Last credits:"))
        lines += [f"• +{tiyin(entry.amount_tiyin)} — {html.quote(entry.service_name)}" for entry in view.recent]
    else:
        lines.append(_("No cashback yet: pay a bill and it starts here."))
    return "\n".join(lines)


def refused_text(error: PayoutRefused) -> str:
    params = {key: sums_number(value) if isinstance(value, int) else value for key, value in error.params.items()}
    template = REFUSED.get(error.code)
    return str(template).format(**params) if template else _("This cannot be done now.")


def paysys_refused_text(error: ProviderRejected) -> str:
    return _("The transfer service refused this card (error {code}). Please check the number or use another "
             "card.").format(code=html.quote(error.code))


def summary_text(payout: PayoutView) -> str:
    lines = [_("<b>Check the transfer</b>"),
             _("Recipient: {name}").format(name=html.quote(payout.recipient_name or "—")),
             _("Card: {card}").format(card=payout_card(payout)),
             _("Amount: {amount} sum").format(amount=sums_number(payout.amount_sums)),
             _("The transfer fee is on us. Please confirm within 5 minutes.")]
    return "\n".join(lines)


def outcome_text(payout: PayoutView) -> str:
    amount, card = sums_number(payout.amount_sums), payout_card(payout)
    refund = payout.refund_of is not None
    texts = {
        "paid": _("✅ {amount} sum sent to {card}. Banks usually credit it within minutes."),
        "pending": _("⏳ The transfer of {amount} sum to {card} is being processed. I'll write as soon as it is "
                     "done."),
        "failed": (_("❌ The refund of {amount} sum to {card} did not go through.") if refund else
                   _("❌ The transfer of {amount} sum to {card} did not go through. The amount is back on your "
                     "cashback balance.")),
        "cancelled": (_("The refund is cancelled. Nothing was sent.") if refund else
                      _("The withdrawal is cancelled. {amount} sum stays on your cashback balance.")),
        "reversed": _("↩️ The transfer of {amount} sum to {card} came back from the bank. The amount is back on "
                      "your cashback balance."),
    }
    if payout.outcome == "prepared":
        return summary_text(payout)
    return texts[payout.outcome].format(amount=amount, card=card)


def refund_target_text(target: RefundTarget) -> str:
    return _("Refund of payment {id}: {service}, {amount} sum, paid by user {user}. Send the card number to "
             "refund to; I delete the message right away.").format(
        id=target.payment_id, service=html.quote(target.service_name), amount=sums_number(target.amount_sums),
        user=target.user_id)


def payout_receipt(payout: PayoutView) -> str:
    """A payout as History opens it: what it was, where it went, and both sides' references."""
    titles = {
        "paid": _("✅ <b>Sent</b>"), "pending": _("⏳ <b>Being sent</b>"), "prepared": _("⏳ <b>Not confirmed</b>"),
        "failed": _("❌ <b>Not sent</b>"), "cancelled": _("✖ <b>Cancelled</b>"),
        "reversed": _("↩️ <b>Returned by the bank</b>"),
    }
    what = (_("Refund of payment #{id}").format(id=payout.refund_of) if payout.refund_of is not None
            else _("Cashback withdrawal"))
    at = payout.completed_at or payout.created_at
    lines = [titles[payout.outcome], what,
             _("Amount: <b>{amount} sum</b>").format(amount=sums_number(payout.amount_sums)),
             _("Card: {card}").format(card=payout_card(payout))]
    if payout.recipient_name:
        lines.append(_("Recipient: {name}").format(name=html.quote(payout.recipient_name)))
    if at is not None:
        lines.append(_("Date: {date}").format(date=formats.moment(at)))
    lines += [_("PaySys transaction: {id}").format(id=html.quote(payout.transaction_id or "—")),
              _("Our reference: {id}").format(id=payout.partner_id)]
    return "\n".join(lines)
