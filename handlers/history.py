"""History: what was paid, by month and service, with totals; each entry opens its receipt."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.chat.answers import alert, not_modified
from bot.chat.filters import Registered
from bot.chat.pay import start_payment
from bot.keyboards import history as kb
from bot.keyboards import menu as menu_kb
from bot.keyboards.callbacks import HistoryAction, HistoryCb, ReceiptCb
from bot.providers.errors import ProviderError
from bot.services.catalogue import CatalogueService
from bot.services.history import (
    Entry,
    History,
    HistoryService,
    month_before,
    month_start,
    this_month,
)
from bot.services.payments import PaymentClosed, PaymentsService, PayResult
from bot.services.payouts import PayoutKind, PayoutRefused, PayoutsService
from bot.services.users import Profile
from bot.texts import formats
from bot.texts.amounts import sums, sums_number
from bot.texts.labels import shown, trim
from bot.texts.outcomes import provider_text
from bot.texts.cashback import payout_receipt
from bot.texts.receipts import failure, outcome_text, pending, receipt

RECENT_MONTHS = 12
PAYOUT_KINDS = frozenset(kind.value for kind in PayoutKind)


def month_name(month: tuple[int, int]) -> str:
    return format_date(month_start(month), "LLLL y", locale=get_i18n().current_locale)


def day_name(entry: Entry) -> str:
    return formats.day_month(entry.at)


def entry_name(entry: Entry) -> str:
    """A bill by its service; a payout to the user's card by what it was."""
    if entry.kind == PayoutKind.cashback:
        return "💸 " + _("Cashback withdrawal")
    if entry.kind == PayoutKind.refund:
        return "💸 " + _("Refund of {service}").format(service=entry.service_name)
    return entry.service_name


def _filtered(history: History, month: tuple[int, int], svc: int) -> tuple[History, str | None]:
    services = history.services()
    service_id = services[svc - 1][0] if 0 < svc <= len(services) else None
    return history.only(month=month, service_id=service_id), service_id


def _view_text(history: History, shown_history: History, month: tuple[int, int], service_id: str | None) -> str:
    title = _("🧾 History — {month}").format(month=month_name(month))
    if service_id:
        title += " · " + shown(dict(history.services()).get(service_id, ""))
    lines = [f"<b>{title}</b>"]
    if not history.provider_reachable:
        lines.append(_("⚠️ The provider's records are unavailable now; showing the payments made here."))
    per_service, overall = shown_history.totals()
    if per_service:
        lines.append(_("Paid, by service:"))
        lines += [f"• {shown(name)}: {sums(total)}" for name, total in sorted(per_service.items())]
        lines.append(_("Total: <b>{amount} sum</b>").format(amount=sums_number(overall)))
    if any(e.state != "paid" for e in shown_history.entries):
        lines.append(_("❌ not paid, ⏳ not settled yet, ↩️ refunded: open one to see what happened."))
    return "\n".join(lines)


async def _render(target: Message, history: History, month: tuple[int, int], svc: int, page: int, *,
                  edit: bool) -> None:
    shown_history, service_id = _filtered(history, month, svc)
    last = month_before(this_month())
    if not shown_history.entries:
        text = _view_text(history, shown_history, month, service_id) + "\n" + _(
            "No payments in {month}.").format(month=month_name(month))
        markup = kb.empty(month, last, svc)
    else:
        text = _view_text(history, shown_history, month, service_id)
        lines = [(e.state, trim(f"{day_name(e)} · {sums(e.amount)} · {entry_name(e)}", 60))
                 for e in shown_history.entries]
        label = _("Service: all") if service_id is None else _("Service: {name}").format(
            name=trim(dict(history.services())[service_id], 30))
        markup = kb.view(lines, month, svc, page, last, this_month(), label)
    if edit:
        try:
            await target.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as error:
            if not_modified(error):  # the same filter pressed again: the view already shows it
                return
    await target.answer(text, reply_markup=markup)


async def show(message: Message, state: FSMContext, profile: Profile, history: HistoryService, bot: Bot) -> None:
    await state.clear()
    async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id):
        records = await history.of(profile.id)
    if not records.entries:
        await message.answer(_("You have not paid anything yet. Shall we pay a bill?"),
                             reply_markup=kb.empty(this_month(), month_before(this_month()), 0))
        return
    await _render(message, records, this_month(), 0, 0, edit=False)


async def view(callback: CallbackQuery, callback_data: HistoryCb, profile: Profile, history: HistoryService) -> None:
    records = await history.of(profile.id)
    month = divmod(callback_data.month, 100)
    await _render(callback.message, records, month, callback_data.svc, callback_data.page, edit=True)


async def pick_month(callback: CallbackQuery, callback_data: HistoryCb, profile: Profile,
                     history: HistoryService) -> None:
    records = await history.of(profile.id)
    months = set(records.months())
    month = this_month()
    for _step in range(RECENT_MONTHS):
        months.add(month)
        month = month_before(month)
    choices = [(m, month_name(m)) for m in sorted(months, reverse=True)]
    await callback.message.edit_text(_("Pick a month:"), reply_markup=kb.months(choices, callback_data.svc))


async def pick_service(callback: CallbackQuery, callback_data: HistoryCb, profile: Profile,
                       history: HistoryService) -> None:
    records = await history.of(profile.id)
    names = [name for _id, name in records.services()]
    await callback.message.edit_text(_("Which service?"),
                                     reply_markup=kb.services(names, divmod(callback_data.month, 100)))


async def open_entry(callback: CallbackQuery, callback_data: HistoryCb, profile: Profile, history: HistoryService,
                     payments: PaymentsService, payouts: PayoutsService, callback_answer: CallbackAnswer) -> None:
    records = await history.of(profile.id)
    month = divmod(callback_data.month, 100)
    shown_history, _service = _filtered(records, month, callback_data.svc)
    if not 0 <= callback_data.idx < len(shown_history.entries):
        alert(callback_answer, _("This button is no longer active."))
        return
    entry = shown_history.entries[callback_data.idx]
    text = await entry_text(entry, profile, payments, payouts)
    sms = entry.payment_id if entry.payment_id is not None and entry.state == "paid" and entry.kind == "bill" else None
    if sms is not None and (await payments.get(profile.id, sms)).receipt_id is None:
        sms = None  # only a Payme receipt can be texted
    picture = entry.payment_id if entry.state == "paid" and entry.kind == "bill" else None  # a receipt to draw
    await callback.message.edit_text(text, reply_markup=kb.back_to_view(month, callback_data.svc, callback_data.page,
                                                                        sms_payment=sms, picture_payment=picture))


async def entry_text(entry: Entry, profile: Profile, payments: PaymentsService, payouts: PayoutsService) -> str:
    if entry.payment_id is None:
        return "\n".join([
            _("✅ <b>Paid</b> (outside this bot)"),
            _("Service: {name}").format(name=shown(entry.service_name)),
            _("Amount: <b>{amount} sum</b>").format(amount=sums_number(entry.amount)),
            _("Card: {card}").format(card=shown(formats.card(None, entry.card)) if entry.card else "—"),
            _("Date: {date}").format(date=formats.moment(entry.at)),
            _("Transaction: {id}").format(id=shown(entry.transaction_id or "—")),
        ])
    if entry.kind in PAYOUT_KINDS:  # a cashback withdrawal or a refund paid to this user
        try:
            return payout_receipt(await payouts.payout(profile.id, entry.payment_id))
        except PayoutRefused:
            return _("This payment is not available.")
    try:
        payment = await payments.get(profile.id, entry.payment_id)
    except PaymentClosed:
        return _("This payment is not available.")
    if entry.state == "paid":
        return receipt(payment)
    if entry.state == "failed":
        if payment.error_code == "cancelled_by_user":  # left before any pay call (/cancel, /language, the menu)
            return failure(payment, _("You cancelled this payment. You can pay it again from the menu."))
        return failure(payment, _("You can pay it again from the menu."))
    if entry.state == "unknown":
        return pending(payment)
    if entry.state in ("settling", "refunding", "refunded"):  # the Payme rail: said as the chat said it
        return outcome_text(PayResult(entry.state, payment))
    return _("This payment was not completed and your card was not charged. You can pay it again from the menu.")


async def send_receipt_sms(callback: CallbackQuery, callback_data: ReceiptCb, profile: Profile,
                           payments: PaymentsService, callback_answer: CallbackAnswer) -> None:
    """receipts.send: Payme texts the receipt to the phone the user shared."""
    try:
        await payments.send_receipt(profile.id, callback_data.payment, profile.phone)
    except PaymentClosed:
        alert(callback_answer, _("This payment is not available."))
        return
    except ProviderError as error:
        alert(callback_answer, provider_text(error))
        return
    alert(callback_answer, _("Payme is sending the receipt to {phone} by SMS.").format(
        phone=formats.phone(profile.phone)))


async def pay_from_history(callback: CallbackQuery, state: FSMContext, catalogue: CatalogueService,
                           payments: PaymentsService, bot: Bot) -> None:
    await start_payment(callback.message, state, catalogue, bot)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Registered())
    router.callback_query.filter(Registered())
    router.message.register(show, F.text == menu_kb.HISTORY)
    router.callback_query.register(view, HistoryCb.filter(F.action == HistoryAction.view))
    router.callback_query.register(pick_month, HistoryCb.filter(F.action == HistoryAction.months))
    router.callback_query.register(pick_service, HistoryCb.filter(F.action == HistoryAction.services))
    router.callback_query.register(open_entry, HistoryCb.filter(F.action == HistoryAction.open))
    router.callback_query.register(pay_from_history, HistoryCb.filter(F.action == HistoryAction.pay))
    router.callback_query.register(send_receipt_sms, ReceiptCb.filter())
    return router
