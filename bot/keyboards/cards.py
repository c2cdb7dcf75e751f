"""My cards keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.callbacks import AddCardAction, AddCardCb, CardAction, CardCb
from bot.services.cards import CardView
from bot.texts.cards import card_name


def card_label(card: CardView) -> str:
    star = "⭐ " if card.is_default else ""
    if not card.active:
        star = "⚠️ "
    return f"{star}{card_name(card)} · {card.expiry_display}"


def card_list(cards: list[CardView]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for card in cards:
        builder.button(text=card_label(card), callback_data=CardCb(action=CardAction.open, id=card.id))
    builder.button(text=_("➕ Add a card"), callback_data=CardCb(action=CardAction.add))
    builder.adjust(1)
    return builder.as_markup()


def card_actions(card: CardView) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if not card.is_default:
        builder.button(text=_("⭐ Make default"), callback_data=CardCb(action=CardAction.default, id=card.id))
    builder.button(text=_("🗑 Remove"), callback_data=CardCb(action=CardAction.remove, id=card.id))
    builder.button(text=_("« Back"), callback_data=CardCb(action=CardAction.back))
    builder.adjust(1)
    return builder.as_markup()


def confirm_remove(card: CardView) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, remove"), callback_data=CardCb(action=CardAction.remove_yes, id=card.id))
    builder.button(text=_("No, keep it"), callback_data=CardCb(action=CardAction.open, id=card.id))
    builder.adjust(2)
    return builder.as_markup()


def cancel_adding() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel"), callback_data=AddCardCb(action=AddCardAction.cancel))
    return builder.as_markup()


def card_page(url: str) -> InlineKeyboardMarkup:
    """The Payme card page opens as a Mini App inside Telegram, which hands it the signed initData."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("💳 Open the card page"), web_app=WebAppInfo(url=url))
    builder.button(text=_("✖ Cancel"), callback_data=AddCardCb(action=AddCardAction.cancel))
    builder.adjust(1)
    return builder.as_markup()


def code_prompt() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🔁 New code (type the number again)"), callback_data=AddCardCb(action=AddCardAction.resend))
    builder.button(text=_("✖ Cancel"), callback_data=AddCardCb(action=AddCardAction.cancel))
    builder.adjust(1)
    return builder.as_markup()


def skip_name() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip"), callback_data=AddCardCb(action=AddCardAction.skip_name))
    return builder.as_markup()
