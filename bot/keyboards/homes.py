"""My homes keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.callbacks import HomeAction, HomeCb, PictureCb, ReceiptCb
from bot.services.homes import HomeView
from bot.texts.amounts import sums_number
from bot.texts.labels import trim

SUGGESTED_NAMES = (__("Home"), __("Parents"), __("Dacha"))


def save_offer(payment_id: int, *, sms: bool = False) -> InlineKeyboardMarkup:
    """Under a receipt: save the account, have the receipt as a picture; for a Payme-card payment also have Payme
    text the receipt."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🏠 Save this account"), callback_data=HomeCb(action=HomeAction.save, id=payment_id))
    builder.button(text=_("🖼 Receipt as a picture"), callback_data=PictureCb(payment=payment_id))
    if sms:
        builder.button(text=_("📱 Send the receipt by SMS"), callback_data=ReceiptCb(payment=payment_id))
    builder.adjust(1)
    return builder.as_markup()


def names(payment_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, name in enumerate(SUGGESTED_NAMES):
        builder.button(text=str(name), callback_data=HomeCb(action=HomeAction.name, id=payment_id, day=index))
    builder.adjust(3)
    return builder.as_markup()


def listing(homes: list[HomeView]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for home in homes:
        bell = " 🔔" if home.reminder_day else ""
        builder.button(text=trim(f"{home.name} · {home.service_name}", 56) + bell,
                       callback_data=HomeCb(action=HomeAction.open, id=home.id))
    builder.adjust(1)
    return builder.as_markup()


def home(item: HomeView, *, debt: int | None, payable: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    rows = []
    if payable:
        if debt:
            builder.button(text=_("Pay the debt: {amount} sum").format(amount=sums_number(debt)),
                           callback_data=HomeCb(action=HomeAction.debt, id=item.id))
            rows.append(1)
        builder.button(text=_("Other amount"), callback_data=HomeCb(action=HomeAction.other, id=item.id))
        rows.append(1)
    reminder = (_("🔔 Reminder: day {day}").format(day=item.reminder_day) if item.reminder_day
                else _("🔕 Remind me monthly"))
    builder.button(text=reminder, callback_data=HomeCb(action=HomeAction.remind, id=item.id))
    builder.button(text=_("✏️ Rename"), callback_data=HomeCb(action=HomeAction.rename, id=item.id))
    builder.button(text=_("🗑 Delete"), callback_data=HomeCb(action=HomeAction.delete, id=item.id))
    builder.button(text=_("« Back"), callback_data=HomeCb(action=HomeAction.back))
    builder.adjust(*rows, 1, 2, 1)
    return builder.as_markup()


def pay_again(item: HomeView, yes: HomeAction = HomeAction.debt_again) -> InlineKeyboardMarkup:
    """Asked before paying a home paid in the last days: Yes goes on (`yes`: the debt or another amount, confirmed);
    No shows the home again."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, pay again"), callback_data=HomeCb(action=yes, id=item.id))
    builder.button(text=_("No"), callback_data=HomeCb(action=HomeAction.open, id=item.id))
    builder.adjust(2)
    return builder.as_markup()


def confirm_delete(item: HomeView) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, delete"), callback_data=HomeCb(action=HomeAction.delete_yes, id=item.id))
    builder.button(text=_("No, keep it"), callback_data=HomeCb(action=HomeAction.open, id=item.id))
    builder.adjust(2)
    return builder.as_markup()


def days(item: HomeView) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for day in range(1, 29):
        builder.button(text=str(day), callback_data=HomeCb(action=HomeAction.remind_day, id=item.id, day=day))
    builder.button(text=_("🔕 No reminders"), callback_data=HomeCb(action=HomeAction.remind_off, id=item.id))
    builder.adjust(7, 7, 7, 7, 1)
    return builder.as_markup()


def reminder(item: HomeView, debt: int | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if debt:
        builder.button(text=_("Pay the debt: {amount} sum").format(amount=sums_number(debt)),
                       callback_data=HomeCb(action=HomeAction.debt, id=item.id))
    builder.button(text=_("Open"), callback_data=HomeCb(action=HomeAction.open, id=item.id))
    builder.button(text=_("🔕 Stop these reminders"), callback_data=HomeCb(action=HomeAction.remind_off, id=item.id))
    builder.adjust(1)
    return builder.as_markup()
