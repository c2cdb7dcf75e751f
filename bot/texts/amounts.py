"""The formats of `bot.texts.formats` in the chat's language (aiogram's current locale), for message texts.

`sums`/`tiyin` carry the currency word; `sums_number`/`tiyin_number` leave it to the catalog entry, where Uzbek
declines it (`{amount} so‘mdan`)."""

from __future__ import annotations

from decimal import Decimal

from aiogram.utils.i18n import get_i18n

from bot.texts import formats


def language() -> str:
    return get_i18n().current_locale


def sums(amount: int | Decimal) -> str:
    return formats.money(amount, language())


def sums_number(amount: int | Decimal) -> str:
    return formats.number(amount, language())


def tiyin(amount: int) -> str:
    return formats.tiyin(amount, language())


def tiyin_number(amount: int) -> str:
    return formats.tiyin_number(amount, language())
