"""Translated labels for the raw field names providers use as titles (`region`, `customer_code`, `saldo`)."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import lazy_gettext as __

KNOWN = {
    "region": __("Region"),
    "soato": __("District"),
    "district": __("District"),
    "city": __("City"),
    "street": __("Street"),
    "customer_code": __("Customer code"),
    "account": __("Account number"),
    "login": __("Login"),
    "phone": __("Phone number"),
    "fio": __("Name"),
    "address": __("Address"),
    "saldo": __("Balance"),
    "balance": __("Balance"),
    "last_paid": __("Last payment"),
    "last_paid_date": __("Last payment date"),
    "time": __("Checked at"),
    "tariff_price": __("Tariff"),
    "bypass_indication": __("Meter reading"),
    "bypass_date": __("Meter reading date"),
}

TEXT_LIMIT = 200


def label(name: str, title: str | None) -> str:
    """A known raw name gets our words; a real title from the provider is shown as it is (escaped)."""
    for key in (title, name):
        if key and key in KNOWN:
            return str(KNOWN[key])
    return html.quote(trim(title or name))


def trim(text: str, limit: int = TEXT_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str, limit: int = TEXT_LIMIT) -> str:
    """Provider or user text, made safe for an HTML message."""
    return html.quote(trim(text, limit))
