"""Cashback and payout keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.callbacks import PayoutAction, PayoutCb, RefundAction, RefundCb
from bot.texts.amounts import sums_number


def cashback(can_withdraw: bool) -> InlineKeyboardMarkup | None:
    if not can_withdraw:
        return None
    builder = InlineKeyboardBuilder()
    builder.button(text=_("💸 Withdraw"), callback_data=PayoutCb(action=PayoutAction.withdraw))
    return builder.as_markup()


def amount(max_sums: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("All: {amount} sum").format(amount=sums_number(max_sums)),
                   callback_data=PayoutCb(action=PayoutAction.all))
    builder.button(text=_("✖ Cancel"), callback_data=PayoutCb(action=PayoutAction.quit))
    builder.adjust(1)
    return builder.as_markup()


def quit_step() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel"), callback_data=PayoutCb(action=PayoutAction.quit))
    return builder.as_markup()


def confirm(payout_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Confirm"), callback_data=PayoutCb(action=PayoutAction.confirm, id=payout_id))
    builder.button(text=_("✖ Cancel"), callback_data=PayoutCb(action=PayoutAction.cancel, id=payout_id))
    builder.adjust(2)
    return builder.as_markup()


def refund_quit() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel"), callback_data=RefundCb(action=RefundAction.quit))
    return builder.as_markup()


def refund_confirm(payout_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Confirm"), callback_data=RefundCb(action=RefundAction.confirm, id=payout_id))
    builder.button(text=_("✖ Cancel"), callback_data=RefundCb(action=RefundAction.cancel, id=payout_id))
    builder.adjust(2)
    return builder.as_markup()
