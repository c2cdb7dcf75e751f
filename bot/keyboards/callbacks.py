"""CallbackData factories. They carry local ids only: clients can forge callback data."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class LanguageCb(CallbackData, prefix="lang"):
    code: str



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
    id: int = 0


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


class PayCb(CallbackData, prefix="pay"):
    """`flow` ties the button to one payment conversation: a button of a finished one is refused."""

    flow: str
    action: PayAction
    value: int = 0


class HistoryAction(StrEnum):
    view = "v"
    open = "o"
    months = "m"
    services = "s"
    pay = "p"


class HistoryCb(CallbackData, prefix="hist"):
    """Filters travel in the button itself: month as YYYYMM, service as a 1-based index (0 = all)."""

    action: HistoryAction
    month: int
    svc: int = 0
    page: int = 0
    idx: int = 0


class HomeAction(StrEnum):
    save = "save"
    name = "name"
    open = "open"
    debt = "debt"
    other = "other"
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
    id: int = 0
    day: int = 0


class ReceiptCb(CallbackData, prefix="rcpt"):
    """Payme texts the receipt of this payment (our row id; ownership is re-checked) to the user's phone."""

    payment: int
