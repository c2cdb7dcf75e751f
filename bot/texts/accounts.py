"""Texts about an account as the provider describes it: the info lines, and a saved home with its fresh balance.

Shared by the pay flow, My homes and the monthly reminders, so all three say the same thing.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from datetime import datetime
from decimal import Decimal

from bot.providers.errors import ProviderError
from bot.services.accounts import AccountInfo, AccountsService, InfoLine
from bot.services.catalogue import CatalogueService, ServiceForm
from bot.services.homes import HomeView, Paid
from bot.texts import formats
from bot.texts.amounts import language, sums
from bot.texts.labels import label, shown
from bot.texts.outcomes import provider_text

# Lines whose value is an amount in sums even without a currency word; any other is one only when it names the
# currency ("50000 UZS"): a customer code or a meter reading is a number, not money.
MONEY_LINES = frozenset({"saldo", "balance", "last_paid", "tariff_price"})


def debt_text(debt: int, owed: Decimal | None = None) -> str:
    """The debt exactly as the provider states it; when Paylov's whole sums round it up, what is paid beside it."""
    if owed is not None and owed != debt:
        return _("Debt: {amount} — pay {payable}").format(amount=sums(owed), payable=sums(debt))
    return _("Debt: {amount}").format(amount=sums(debt))


def line_value(line: InfoLine) -> str:
    """A provider's value in our format when it is a date or an amount; anything else as it came (escaped)."""
    when = formats.provider_date(line.value)
    if when is not None:
        return formats.moment(when) if isinstance(when, datetime) else formats.day(when)
    names_money = line.name in MONEY_LINES or (line.title or "") in MONEY_LINES
    if names_money or formats.AMOUNT_CURRENCY.search(line.value or ""):
        amount = formats.provider_amount(line.value)
        if amount is not None:
            return formats.money(amount, language())
    return shown(line.value, 120)


def info_text(form: ServiceForm, info: AccountInfo | None) -> list[str]:
    if info is None:
        return []
    lines = []
    for line in info.lines:
        if line.is_balance and info.debt:  # the debt says what the negative balance means: one line, not two
            lines.append("⚠️ <b>" + debt_text(info.debt, info.owed) + "</b>")
            continue
        lines.append(f"{label(line.name, line.title)}: {line_value(line)}")
    return lines


def paid_text(paid: Paid) -> str:
    return _("✅ Paid on {date}: {amount}").format(date=formats.day_month(paid.on), amount=sums(paid.amount))


def paid_again_question(paid: Paid) -> str:
    return _("You paid this account on {date} ({amount}) — pay again?").format(
        date=formats.day_month(paid.on), amount=sums(paid.amount))


def homes_list(homes: list[HomeView]) -> str:
    """The list's heading, and under it the homes paid in the last days."""
    lines = [_("Your saved accounts:")]
    lines += [f"{shown(home.name)} · {paid_text(home.paid)}" for home in homes if home.paid is not None]
    return "\n".join(lines)


async def home_text(home: HomeView, catalogue: CatalogueService,
                    accounts: AccountsService) -> tuple[str, int | None, bool]:
    """The saved account with the provider's fresh balance; (text, debt, payable)."""
    lines = [f"🏠 <b>{shown(home.name)}</b>", shown(home.service_name)]
    lines += [f"{name}: <b>{value}</b>" for name, value in home.account_display]
    if home.paid is not None:
        lines.append(paid_text(home.paid))
    try:
        service = await catalogue.service(home.service_id)
    except ProviderError as error:
        return "\n".join(lines + ["⚠️ " + provider_text(error)]), None, False
    if service is None:
        lines.append("⚠️ " + _("This service is no longer offered. You can delete this saved account."))
        return "\n".join(lines), None, False
    if not service.payable:
        lines.append("⚠️ " + _("This service cannot be paid right now. Please try later."))
        return "\n".join(lines), None, False
    info: AccountInfo | None = None
    try:
        form = await catalogue.form(home.service_id)
        if form.service.has_info:
            info = await accounts.lookup(form, home.account)
            lines += info_text(form, info)
            if home.paid is not None and info.debt:  # the provider may count a payment a day or more later
                lines.append("ℹ️ " + _("This balance comes from the provider and may not show this payment yet."))
    except ProviderError as error:
        lines.append("⚠️ " + _("Could not get the balance now: {reason}").format(reason=provider_text(error)))
    return "\n".join(lines), info.debt if info else None, True
