"""Onboarding and main-menu keyboards."""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

from bot.keyboards.callbacks import LanguageCb

LANGUAGE_NAMES = {"uz": "🇺🇿 O‘zbekcha", "ru": "🇷🇺 Русский", "en": "🇬🇧 English"}

# Reply-button labels: lazy, so filters compare them in the user's language.
PAY = __("💡 Pay bills")
CARDS = __("💳 My cards")
HISTORY = __("🧾 History")
HOMES = __("🏠 My homes")
LANGUAGE = __("🌐 Language")
HELP = __("❓ Help")
CASHBACK = __("💰 Cashback")

# Whether this deployment shows Cashback (CASHBACK_PERCENT > 0 and PaySys configured): set per update by
# bot.middlewares.features, as aiogram's i18n sets the locale, so every menu built during the update agrees.
cashback_shown: ContextVar[bool] = ContextVar("cashback_shown", default=False)


def language_choice(suggested: str) -> InlineKeyboardMarkup:
    """The suggested language comes first and is marked."""
    builder = InlineKeyboardBuilder()
    order = [suggested, *(code for code in LANGUAGE_NAMES if code != suggested)]
    for code in order:
        label = LANGUAGE_NAMES[code] + (" ✓" if code == suggested else "")
        builder.button(text=label, callback_data=LanguageCb(code=code))
    builder.adjust(1)
    return builder.as_markup()


def share_phone() -> ReplyKeyboardMarkup:
    builder = ReplyKeyboardBuilder()
    builder.add(KeyboardButton(text=_("📱 Share my phone number"), request_contact=True))
    return builder.as_markup(resize_keyboard=True, one_time_keyboard=True)


def main_menu() -> ReplyKeyboardMarkup:
    return _main_menu(get_i18n().current_locale, cashback_shown.get())


@cache
def _main_menu(locale: str, cashback: bool) -> ReplyKeyboardMarkup:
    """Built once per language and feature set: most replies carry the menu, and a builder deep-copies it."""
    builder = ReplyKeyboardBuilder()
    labels = (PAY, CARDS, HISTORY, HOMES, *((CASHBACK,) if cashback else ()), LANGUAGE, HELP)
    for label in labels:
        builder.button(text=str(label))
    builder.adjust(2)
    return builder.as_markup(resize_keyboard=True, is_persistent=True)


def is_menu_button(text: str | None) -> bool:
    """Whether a text is one of the main menu's buttons as this user sees them (their language, this deployment)."""
    return text is not None and text in _labels(get_i18n().current_locale, cashback_shown.get())


@cache
def _labels(locale: str, cashback: bool) -> frozenset[str]:
    return frozenset(button.text for row in _main_menu(locale, cashback).keyboard for button in row)
