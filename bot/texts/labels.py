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

# Titles Paylov's services give their fields in Russian or Uzbek (as its own apps show them), by the raw name above
# they mean; compared after `_key`.
ALIASES = {
    "регион": "region", "область": "region", "viloyat": "region", "hudud": "region",
    "район": "district", "tuman": "district",
    "город": "city", "shahar": "city",
    "улица": "street", "ko‘cha": "street",
    "код абонента": "customer_code", "код потребителя": "customer_code", "abonent kodi": "customer_code",
    "лицевой счет": "account", "номер лицевого счета": "account", "hisob raqami": "account",
    "shaxsiy hisob raqami": "account",
    "логин": "login",
    "номер телефона": "phone", "телефон": "phone", "telefon raqami": "phone",
    "фио": "fio", "f.i.sh.": "fio",
    "адрес": "address", "manzil": "address",
    "баланс": "balance", "сальдо": "saldo", "balans": "balance",
    "последний платеж": "last_paid", "дата последнего платежа": "last_paid_date",
    "тариф": "tariff_price",
}

# The catalogue's category names (Paylov names them in Russian or Uzbek), in the user's language.
CATEGORIES = {
    "коммунальные услуги": __("Utilities"), "kommunal xizmatlar": __("Utilities"),
    "gaz va issiqlik": __("Gas and heating"), "газ и отопление": __("Gas and heating"),
    "интернет": __("Internet"), "internet": __("Internet"),
    "мобильная связь": __("Mobile"), "mobil aloqa": __("Mobile"),
    "переводы": __("Transfers"), "o‘tkazmalar": __("Transfers"),
}

# Options that are places everyone knows (a service's "region" list); anything else (a power company's branch)
# stays as the provider wrote it.
PLACES = {
    "г. ташкент": __("Tashkent city"), "город ташкент": __("Tashkent city"), "toshkent shahri": __("Tashkent city"),
    "ташкентская область": __("Tashkent region"), "toshkent viloyati": __("Tashkent region"),
    "андижанская область": __("Andijan region"), "andijon viloyati": __("Andijan region"),
    "бухарская область": __("Bukhara region"), "buxoro viloyati": __("Bukhara region"),
    "ферганская область": __("Fergana region"), "farg‘ona viloyati": __("Fergana region"),
    "джизакская область": __("Jizzakh region"), "jizzax viloyati": __("Jizzakh region"),
    "кашкадарьинская область": __("Kashkadarya region"), "qashqadaryo viloyati": __("Kashkadarya region"),
    "хорезмская область": __("Khorezm region"), "xorazm viloyati": __("Khorezm region"),
    "наманганская область": __("Namangan region"), "namangan viloyati": __("Namangan region"),
    "навоийская область": __("Navoi region"), "navoiy viloyati": __("Navoi region"),
    "самаркандская область": __("Samarkand region"), "samarqand viloyati": __("Samarkand region"),
    "сурхандарьинская область": __("Surkhandarya region"), "surxondaryo viloyati": __("Surkhandarya region"),
    "сырдарьинская область": __("Syrdarya region"), "sirdaryo viloyati": __("Syrdarya region"),
    "республика каракалпакстан": __("Republic of Karakalpakstan"),
    "qoraqalpog‘iston respublikasi": __("Republic of Karakalpakstan"),
}

TEXT_LIMIT = 200


def _key(text: str) -> str:
    """Case, ё, a trailing colon, spacing and apostrophe variants do not make a title unknown."""
    text = " ".join(str(text).split()).rstrip(":").strip().lower().replace("ё", "е")
    for wrong in ("'", "`", "ʻ", "ʼ", "’"):
        text = text.replace(wrong, "‘")
    return text


def label(name: str, title: str | None) -> str:
    """A known raw name or title gets our words; any other title from the provider is shown as it is (escaped)."""
    for key in (title, name):
        if key and key in KNOWN:
            return str(KNOWN[key])
        if key and _key(key) in ALIASES:
            return str(KNOWN[ALIASES[_key(key)]])
    return html.quote(trim(title or name))


def category_name(name: str) -> str:
    """A category we know in the user's language; another one as the provider names it (plain text, trimmed)."""
    known = CATEGORIES.get(_key(name))
    return str(known) if known is not None else trim(name)


def option_title(title: str) -> str:
    """A select's option (plain text): a known place in the user's language, anything else as the provider wrote it."""
    known = PLACES.get(_key(title))
    return str(known) if known is not None else trim(title)


def trim(text: str, limit: int = TEXT_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str, limit: int = TEXT_LIMIT) -> str:
    """Provider or user text, made safe for an HTML message."""
    return html.quote(trim(text, limit))
