"""History keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.callbacks import HistoryAction, HistoryCb, PictureCb, ReceiptCb
from bot.keyboards.common import page_of

MARKS = {"paid": "✅", "failed": "❌", "unknown": "⏳", "pending": "⏳", "settling": "⏳", "refunding": "↩️",
         "refunded": "↩️"}


def as_int(month: tuple[int, int]) -> int:
    return month[0] * 100 + month[1]


def view(lines: list[tuple[str, str]], month: tuple[int, int], svc: int, page: int,
         last_month: tuple[int, int], this_month: tuple[int, int], service_label: str) -> InlineKeyboardMarkup:
    """`lines` are (state, label) of the entries in the shown order."""
    builder = InlineKeyboardBuilder()
    m = as_int(month)
    chunk, page, has_prev, has_next = page_of(lines, page)
    for index, (state, label) in chunk:
        builder.button(text=f"{MARKS.get(state, '•')} {label}",
                       callback_data=HistoryCb(action=HistoryAction.open, month=m, svc=svc, page=page, idx=index))
    arrows = 0
    for flag, target in ((has_prev, page - 1), (has_next, page + 1)):
        if flag:
            builder.button(text="◀" if target < page else "▶",
                           callback_data=HistoryCb(action=HistoryAction.view, month=m, svc=svc, page=target))
            arrows += 1
    builder.button(text=_("This month"), callback_data=HistoryCb(action=HistoryAction.view, month=as_int(this_month),
                                                                  svc=svc))
    builder.button(text=_("Last month"), callback_data=HistoryCb(action=HistoryAction.view, month=as_int(last_month),
                                                                  svc=svc))
    builder.button(text=_("📅 Pick a month"), callback_data=HistoryCb(action=HistoryAction.months, month=m, svc=svc))
    builder.button(text=service_label, callback_data=HistoryCb(action=HistoryAction.services, month=m, svc=svc))
    builder.button(text=_("📊 Chart for 12 months"), callback_data=HistoryCb(action=HistoryAction.chart, month=m,
                                                                            svc=svc))
    builder.adjust(*([1] * len(chunk)), *([arrows] if arrows else []), 2, 2, 1)
    return builder.as_markup()


def months(choices: list[tuple[tuple[int, int], str]], svc: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for month, label in choices:
        builder.button(text=label, callback_data=HistoryCb(action=HistoryAction.view, month=as_int(month), svc=svc))
    builder.adjust(2)
    return builder.as_markup()


def services(names: list[str], month: tuple[int, int]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("All services"), callback_data=HistoryCb(action=HistoryAction.view, month=as_int(month)))
    for index, name in enumerate(names, start=1):
        builder.button(text=name[:60], callback_data=HistoryCb(action=HistoryAction.view, month=as_int(month),
                                                                svc=index))
    builder.adjust(1)
    return builder.as_markup()


def back_to_view(month: tuple[int, int], svc: int, page: int, *,
                 sms_payment: int | None = None, picture_payment: int | None = None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if picture_payment is not None:
        builder.button(text=_("🖼 Receipt as a picture"), callback_data=PictureCb(payment=picture_payment))
    if sms_payment is not None:
        builder.button(text=_("📱 Send the receipt by SMS"), callback_data=ReceiptCb(payment=sms_payment))
    builder.button(text=_("« Back"), callback_data=HistoryCb(action=HistoryAction.view, month=as_int(month), svc=svc,
                                                              page=page))
    return builder.as_markup()


def empty(month: tuple[int, int], last_month: tuple[int, int], svc: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("💡 Pay a bill"), callback_data=HistoryCb(action=HistoryAction.pay, month=as_int(month)))
    builder.button(text=_("Last month"), callback_data=HistoryCb(action=HistoryAction.view, month=as_int(last_month),
                                                                  svc=svc))
    builder.button(text=_("📅 Pick a month"), callback_data=HistoryCb(action=HistoryAction.months,
                                                                      month=as_int(month), svc=svc))
    builder.adjust(1, 2)
    return builder.as_markup()
