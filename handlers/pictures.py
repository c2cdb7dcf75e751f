"""Pictures: a paid bill's receipt as a PNG (under the receipt and in History), and History's 12-month chart."""

from __future__ import annotations

import asyncio

from aiogram import Bot, F, Router
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert
from bot.chat.filters import Registered
from bot.domain.payments import PaymentState, Rail
from bot.keyboards.callbacks import HistoryAction, HistoryCb, PictureCb
from bot.middlewares.sandbox_banner import shows_test_mode
from bot.pictures import chart, receipt
from bot.services.history import HistoryService
from bot.services.payments import PaymentClosed, PaymentsService
from bot.services.users import Profile
from bot.settings import Settings
from bot.texts import charts, receipt_model


async def _signature(bot: Bot, settings: Settings) -> dict[str, str]:
    """The bot's name on the picture, and the test-mode strip whenever messages carry the test-mode line."""
    me = await bot.me()
    return {"brand": me.first_name, "handle": f"@{me.username}" if me.username else "",
            "test_mode": _("TEST MODE — no real money") if shows_test_mode(settings) else ""}


async def receipt_picture(callback: CallbackQuery, callback_data: PictureCb, profile: Profile,
                          payments: PaymentsService, bot: Bot, settings: Settings,
                          callback_answer: CallbackAnswer) -> None:
    """Only the owner's paid bill has one; anything else (another user's id, a payout, an unpaid row) is refused
    the same way, so a forged button learns nothing."""
    try:
        payment = await payments.get(profile.id, callback_data.payment)
    except PaymentClosed:
        payment = None
    if payment is None or payment.state != PaymentState.paid or payment.rail == Rail.paysys:
        alert(callback_answer, _("This payment is not available."))
        return
    model = receipt_model.build(payment)
    async with ChatActionSender.upload_photo(bot=bot, chat_id=callback.message.chat.id):
        png = await asyncio.to_thread(receipt.render, model, **await _signature(bot, settings))
        await bot.send_photo(callback.message.chat.id, BufferedInputFile(png, f"receipt-{payment.id}.png"),
                             caption=receipt_model.caption(model))


async def history_chart(callback: CallbackQuery, profile: Profile, history: HistoryService, bot: Bot,
                        settings: Settings) -> None:
    data = await history.monthly(profile.id)
    if data.empty:
        await callback.message.answer(charts.nothing_to_chart())
        return
    text = charts.chart_text(data)
    async with ChatActionSender.upload_photo(bot=bot, chat_id=callback.message.chat.id):
        png = await asyncio.to_thread(chart.render, data, text, **await _signature(bot, settings))
        await bot.send_photo(callback.message.chat.id, BufferedInputFile(png, "payments-12-months.png"),
                             caption=charts.chart_caption(data))


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(Registered())
    router.callback_query.register(receipt_picture, PictureCb.filter())
    router.callback_query.register(history_chart, HistoryCb.filter(F.action == HistoryAction.chart))
    return router
