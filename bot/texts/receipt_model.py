"""The receipt model (bot.domain.receipt) built from a paid payment, and its text message.

The picture (bot.pictures.receipt) draws the same model, so the chat's text and the PNG never disagree.
"""

from __future__ import annotations

import html as html_lib
from datetime import datetime

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.domain.receipt import Receipt, Row
from bot.money.ledger import PaymentView
from bot.texts import formats
from bot.texts.labels import trim

MISSING = "—"


def current_locale() -> str:
    try:
        return get_i18n().current_locale
    except LookupError:  # outside any user's conversation (a script): English
        return formats.DEFAULT_LOCALE


def _brand(masked: str) -> str | None:
    digits = "".join(ch for ch in masked or "" if ch.isdigit())
    if digits.startswith("9860"):
        return "HUMO"
    if digits.startswith(("8600", "5614")):
        return "UZCARD"
    return None


def paid_time(raw: str | None) -> str:
    """The provider's paid-at in our format; a value we cannot read is shown as it came."""
    if not raw:
        return MISSING
    when = formats.provider_date(raw)
    if isinstance(when, datetime):
        return formats.moment(when)
    return trim(raw, 40)


def build(payment: PaymentView, locale: str | None = None) -> Receipt:
    """The receipt of a paid bill. Account rows are stored escaped for HTML (bot.handlers.checkout): unescaped here,
    so the model holds plain text for both renderers."""
    locale = locale or current_locale()
    account = tuple(Row(html_lib.unescape(str(label)), html_lib.unescape(str(value)), strong=True)
                    for label, value in payment.account_display)
    time = paid_time(payment.paid_at)
    details = [
        Row(_("Card"), formats.card(_brand(payment.card_masked), payment.card_masked or MISSING)),
        Row(_("Date"), time),
    ]
    if payment.rail == "payme":  # both sides' references: the charge at Payme, the bill at Paylov
        details.append(Row(_("Payme receipt"), trim(payment.receipt_id or MISSING, 64)))
    details += [
        Row(_("Payment reference"), trim(payment.payment_ref or MISSING, 64)),
        Row(_("Transaction"), trim(payment.transaction_id or MISSING, 64)),
        Row(_("Terminal"), trim(payment.epos_terminal or MISSING, 64)),
    ]
    return Receipt(
        status="paid",
        title=_("Paid"),
        stamp=_("PAID"),
        heading=_("Payment receipt"),
        service=Row(_("Service"), trim(payment.service_name)),
        account=account,
        amount=Row(_("Amount"), formats.money(payment.amount, locale), strong=True),
        details=tuple(details),
        reference=trim(payment.payment_ref or payment.receipt_id or payment.transaction_id or MISSING, 64),
        time=time,
    )


def as_text(receipt: Receipt) -> str:
    """The chat's receipt: the title, then every row as `label: value` (HTML-safe)."""
    lines = [f"✅ <b>{html.quote(receipt.title)}</b>"]
    for row in receipt.rows:
        value = html.quote(row.value)
        lines.append(f"{html.quote(row.label)}: " + (f"<b>{value}</b>" if row.strong else value))
    return "\n".join(lines)


def caption(receipt: Receipt) -> str:
    """What the picture is, in words (the photo's caption): a receipt, for what, how much, when."""
    return _("🧾 Receipt: {service}, {amount}, {date}").format(
        service=html.quote(receipt.service.value), amount=html.quote(receipt.amount.value),
        date=html.quote(receipt.time))
