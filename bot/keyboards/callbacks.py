"""CallbackData factories. They carry local ids only: clients can forge callback data, so every field is bounded:
a value out of range is not parsed, and the press reaches the fallback ("this button is no longer active") instead of
the database."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

RowId = Annotated[int, Field(ge=0, le=2**31 - 1)]  # our table ids are 32-bit
Small = Annotated[int, Field(ge=0, le=9_999)]  # pages, list positions, option indexes, days
Month = Annotated[int, Field(ge=0, le=999_912)]  # YYYYMM
FlowId = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[0-9a-f]+$")]


class LanguageCb(CallbackData, prefix="lang"):
    code: Annotated[str, Field(max_length=8)]



class CardAction(StrEnum):
    add = "add"
    open = "open"
    default = "def"
    remove = "rm"
    remove_yes = "rmy"
    back = "back"


class CardCb(CallbackData, prefix="card"):
    """`id` is our local card row id (0 when not about one card); ownership is re-checked on every press."""

    action: CardAction
    id: RowId = 0


class AddCardAction(StrEnum):
    resend = "resend"
    skip_name = "skip"
    cancel = "cancel"


class AddCardCb(CallbackData, prefix="addc"):
    action: AddCardAction


class PayAction(StrEnum):
    category = "cat"
    categories = "cats"
    service = "svc"
    page = "pg"
    option = "opt"
    skip = "skip"
    back = "back"
    cancel = "cancel"
    debt = "debt"
    card = "card"
    add_card = "addcard"
    confirm = "ok"
    again = "again"
    other_card = "ocard"  # after a refusal for money
    other_amount = "oamt"


class PayCb(CallbackData, prefix="pay"):
    """`flow` ties the button to one payment conversation: a button of a finished one is refused."""

    flow: FlowId
    action: PayAction
    value: RowId = 0


class HistoryAction(StrEnum):
    view = "v"
    open = "o"
    months = "m"
    services = "s"
    pay = "p"
    chart = "c"  # the last 12 months as a picture


class HistoryCb(CallbackData, prefix="hist"):
    """Filters travel in the button itself: month as YYYYMM, service as a 1-based index (0 = all)."""

    action: HistoryAction
    month: Month
    svc: Small = 0
    page: Small = 0
    idx: Small = 0


class HomeAction(StrEnum):
    save = "save"
    name = "name"
    open = "open"
    debt = "debt"
    debt_again = "debt2"  # "Pay the debt" of a home paid in the last days, confirmed
    other = "other"
    other_again = "other2"  # "Other amount" of a home paid in the last days, confirmed
    rename = "ren"
    delete = "del"
    delete_yes = "dely"
    remind = "rem"
    remind_day = "remd"
    remind_off = "remoff"
    back = "back"


class HomeCb(CallbackData, prefix="home"):
    """`id` is our home row id (or, for save/name, our payment row id); ownership is re-checked."""

    action: HomeAction
    id: RowId = 0
    day: Small = 0


class ReceiptCb(CallbackData, prefix="rcpt"):
    """Payme texts the receipt of this payment (our row id; ownership is re-checked) to the user's phone."""

    payment: RowId


class PayoutAction(StrEnum):
    withdraw = "wd"
    all = "all"  # withdraw the whole balance (up to PAYOUT_MAX)
    confirm = "ok"
    cancel = "no"
    quit = "quit"  # leave the withdrawal before anything was prepared


class PayoutCb(CallbackData, prefix="po"):
    """`id`: our payout row (payments.id); its owner (or, for a refund, an operator) is re-checked on every press."""

    action: PayoutAction
    id: RowId = 0


class RefundAction(StrEnum):
    confirm = "ok"
    cancel = "no"
    quit = "quit"


class RefundCb(CallbackData, prefix="rf"):
    """An operator's refund payout; only an operator in a private chat can press it."""

    action: RefundAction
    id: RowId = 0


class PictureCb(CallbackData, prefix="pic"):
    """The receipt of this payment (our row id; ownership and state are re-checked) sent as a PNG."""

    payment: RowId
