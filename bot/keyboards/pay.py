"""Pay-flow keyboards. Every button carries the flow id, so a button of a closed payment is recognised."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.domain.forms import Option
from bot.keyboards.callbacks import PayAction, PayCb
from bot.keyboards.common import page_of
from bot.services.cards import CardView
from bot.services.catalogue import Category, Service
from bot.texts.amounts import sums_number
from bot.texts.cards import card_name
from bot.texts.labels import category_name, option_title, trim


def _nav(builder: InlineKeyboardBuilder, flow: str, *, back: bool = True) -> None:
    if back:
        builder.button(text=_("« Back"), callback_data=PayCb(flow=flow, action=PayAction.back))
    builder.button(text=_("✖ Cancel"), callback_data=PayCb(flow=flow, action=PayAction.cancel))


def _pager(builder: InlineKeyboardBuilder, flow: str, page: int, has_prev: bool, has_next: bool) -> int:
    count = 0
    if has_prev:
        builder.button(text="◀", callback_data=PayCb(flow=flow, action=PayAction.page, value=page - 1))
        count += 1
    if has_next:
        builder.button(text="▶", callback_data=PayCb(flow=flow, action=PayAction.page, value=page + 1))
        count += 1
    return count


def categories(flow: str, items: list[Category], page: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    chunk, page, has_prev, has_next = page_of(items, page)
    for _index, category in chunk:
        builder.button(text=trim(category_name(category.name), 60),
                       callback_data=PayCb(flow=flow, action=PayAction.category, value=category.id))
    arrows = _pager(builder, flow, page, has_prev, has_next)
    _nav(builder, flow, back=False)
    builder.adjust(*([1] * len(chunk)), *([arrows] if arrows else []), 1)
    return builder.as_markup()


def services(flow: str, items: list[Service], page: int) -> InlineKeyboardMarkup:
    """`items` is the list whose indexes the FSM data keeps; unavailable services are marked, never payable."""
    builder = InlineKeyboardBuilder()
    chunk, page, has_prev, has_next = page_of(items, page)
    for index, service in chunk:
        mark = "" if service.payable else "⛔ "
        builder.button(text=mark + trim(service.name, 60),
                       callback_data=PayCb(flow=flow, action=PayAction.service, value=index))
    arrows = _pager(builder, flow, page, has_prev, has_next)
    builder.button(text=_("« Categories"), callback_data=PayCb(flow=flow, action=PayAction.categories))
    builder.button(text=_("✖ Cancel"), callback_data=PayCb(flow=flow, action=PayAction.cancel))
    builder.adjust(*([1] * len(chunk)), *([arrows] if arrows else []), 2)
    return builder.as_markup()


def options(flow: str, items: list[Option], page: int, *, optional: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    chunk, page, has_prev, has_next = page_of(items, page)
    for _index, option in chunk:
        builder.button(text=trim(option_title(option.title), 60),
                       callback_data=PayCb(flow=flow, action=PayAction.option, value=option.id))
    arrows = _pager(builder, flow, page, has_prev, has_next)
    if optional:
        builder.button(text=_("Skip"), callback_data=PayCb(flow=flow, action=PayAction.skip))
    _nav(builder, flow)
    builder.adjust(*([1] * len(chunk)), *([arrows] if arrows else []), *([1] if optional else []), 2)
    return builder.as_markup()


def text_step(flow: str, *, optional: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if optional:
        builder.button(text=_("Skip"), callback_data=PayCb(flow=flow, action=PayAction.skip))
    _nav(builder, flow)
    builder.adjust(*([1] if optional else []), 2)
    return builder.as_markup()


def amount(flow: str, debt: int | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if debt:
        builder.button(text=_("Pay the debt: {amount} sum").format(amount=sums_number(debt)),
                       callback_data=PayCb(flow=flow, action=PayAction.debt))
    _nav(builder, flow)
    builder.adjust(*([1] if debt else []), 2)
    return builder.as_markup()


def cards(flow: str, items: list[CardView]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for card in items:
        star = "⭐ " if card.is_default else ""
        builder.button(text=f"{star}{trim(card_name(card), 50)}",
                       callback_data=PayCb(flow=flow, action=PayAction.card, value=card.id))
    builder.button(text=_("➕ Add a card"), callback_data=PayCb(flow=flow, action=PayAction.add_card))
    _nav(builder, flow)
    builder.adjust(*([1] * len(items)), 1, 2)
    return builder.as_markup()


def confirm(flow: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Confirm"), callback_data=PayCb(flow=flow, action=PayAction.confirm))
    _nav(builder, flow)
    builder.adjust(1, 2)
    return builder.as_markup()


def code(flow: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel"), callback_data=PayCb(flow=flow, action=PayAction.cancel))
    return builder.as_markup()


def try_again(flow: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🔁 Try again"), callback_data=PayCb(flow=flow, action=PayAction.again))
    builder.button(text=_("✖ Cancel"), callback_data=PayCb(flow=flow, action=PayAction.cancel))
    builder.adjust(2)
    return builder.as_markup()


def money_refused(flow: str) -> InlineKeyboardMarkup:
    """After a refusal for money the same card and amount would only fail again: another card, or another amount."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("💳 Another card"), callback_data=PayCb(flow=flow, action=PayAction.other_card))
    builder.button(text=_("✏️ Change the amount"), callback_data=PayCb(flow=flow, action=PayAction.other_amount))
    builder.button(text=_("✖ Cancel"), callback_data=PayCb(flow=flow, action=PayAction.cancel))
    builder.adjust(1, 1, 1)
    return builder.as_markup()
