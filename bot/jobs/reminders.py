"""Monthly reminders: on a home's chosen day, its fresh balance with a pay button, once per month per home.

The schedule and what was sent live in the database, so restarts neither skip nor repeat a reminder.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.jobs.periodic import Periodic
from bot.keyboards import homes as kb
from bot.services.accounts import AccountsService
from bot.services.catalogue import CatalogueService
from bot.services.homes import HomesService
from bot.services.users import UserService
from bot.texts.accounts import home_text

logger = logging.getLogger(__name__)


class ReminderWorker(Periodic):
    name = "reminders"
    wait_first = True

    def __init__(self, bot: Bot, homes: HomesService, users: UserService, catalogue: CatalogueService,
                 accounts: AccountsService, i18n: I18n, *, tick: float) -> None:
        super().__init__(tick=tick)
        self._bot, self._homes, self._users = bot, homes, users
        self._catalogue, self._accounts, self._i18n = catalogue, accounts, i18n

    async def run_pass(self) -> None:
        await self.send_due()

    async def send_due(self) -> int:
        sent = 0
        for home in await self._homes.claim_due_reminders():
            profile = await self._users.get(home.user_id)
            with self._i18n.context(), self._i18n.use_locale((profile and profile.language) or "en"):
                text, debt, payable = await home_text(home, self._catalogue, self._accounts)
                text = _("🔔 Monthly reminder") + "\n" + text
                markup = kb.reminder(home, debt if payable else None)
            try:
                await self._bot.send_message(home.user_id, text, reply_markup=markup)
                sent += 1
            except TelegramAPIError:
                logger.warning("reminder for home %s not delivered", home.id)
        return sent


async def start_reminders(bot: Bot, dispatcher, homes: HomesService, users: UserService,
                          catalogue: CatalogueService, accounts: AccountsService, i18n: I18n, settings) -> None:
    worker = ReminderWorker(bot, homes, users, catalogue, accounts, i18n, tick=settings.REMINDER_TICK)
    dispatcher["reminder_worker"] = worker
    worker.start()


async def stop_reminders(dispatcher) -> None:
    worker = dispatcher.workflow_data.get("reminder_worker")
    if worker is not None:
        await worker.stop()
