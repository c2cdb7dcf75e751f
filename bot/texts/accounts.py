"""Texts about an account as the provider describes it: the info lines, and a saved home with its fresh balance.

Shared by the pay flow, My homes and the monthly reminders, so all three say the same thing.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.domain.money import format_sums
from bot.providers.errors import ProviderError
from bot.services.accounts import AccountInfo, AccountsService
from bot.services.catalogue import CatalogueService, ServiceForm
from bot.services.homes import HomeView
from bot.texts.labels import label, shown
from bot.texts.outcomes import provider_text


def info_text(form: ServiceForm, info: AccountInfo | None) -> list[str]:
    if info is None:
        return []
    lines = []
    for line in info.lines:
        text = f"{label(line.name, line.title)}: {shown(line.value, 120)}"
        if line.is_balance and info.debt:
            text = "⚠️ <b>" + text + "</b> — " + _("debt {amount} sum").format(amount=format_sums(info.debt))
        lines.append(text)
    return lines


async def home_text(home: HomeView, catalogue: CatalogueService,
                    accounts: AccountsService) -> tuple[str, int | None, bool]:
    """The saved account with the provider's fresh balance; (text, debt, payable)."""
    lines = [f"🏠 <b>{shown(home.name)}</b>", shown(home.service_name)]
    lines += [f"{name}: <b>{value}</b>" for name, value in home.account_display]
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
    except ProviderError as error:
        lines.append("⚠️ " + _("Could not get the balance now: {reason}").format(reason=provider_text(error)))
    return "\n".join(lines), info.debt if info else None, True
