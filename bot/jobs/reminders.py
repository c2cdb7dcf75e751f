"""Monthly reminders: on a home's chosen day, its fresh balance with a pay button, once per month per home.

The schedule and what was sent live in the database, so restarts neither skip nor repeat a reminder. Every replica
runs this job: each home's reminder is leased to one (HomesService.claim_due_reminders), and the sends are paced
(bot.jobs.pacing) to Telegram's limits, shared across replicas through Redis when there is one.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.jobs.pacing import LocalPacer, Pacer, RedisPacer
from bot.jobs.periodic import Periodic
from bot.keyboards import homes as kb
from bot.services.accounts import AccountsService
from bot.services.catalogue import CatalogueService
from bot.services.homes import HomesService, HomeView
from bot.services.users import UserService
from bot.texts.accounts import home_text

logger = logging.getLogger(__name__)

REMINDER_BATCH = 200  # homes leased at once: 8 s at 25 a second, against a lease of REMINDER_LEASE (300 s)


class ReminderWorker(Periodic):
    name = "reminders"
    wait_first = True

    def __init__(self, bot: Bot, homes: HomesService, users: UserService, catalogue: CatalogueService,
                 accounts: AccountsService, i18n: I18n, *, tick: float, pacer: Pacer | None = None) -> None:
        super().__init__(tick=tick)
        self._bot, self._homes, self._users = bot, homes, users
        self._catalogue, self._accounts, self._i18n = catalogue, accounts, i18n
        self.pacer = pacer or LocalPacer()

    async def run_pass(self) -> None:
        await self.send_due()

    async def send_due(self) -> int:
        """Due homes in batches small enough to be sent well within their leases at the paced rate, so a long
        day's list is never leased so far ahead that another replica takes the end of it again."""
        sent = 0
        while claimed := await self._homes.claim_due_reminders(limit=REMINDER_BATCH):
            sent += await self._send(claimed)
        return sent

    async def _send(self, claimed: list[HomeView]) -> int:
        sent = 0
        for home in claimed:
            profile = await self._users.get(home.user_id)
            with self._i18n.context(), self._i18n.use_locale((profile and profile.language) or "en"):
                text, debt, payable = await home_text(home, self._catalogue, self._accounts)
                text = _("🔔 Monthly reminder") + "\n" + text
                markup = kb.reminder(home, debt if payable else None)
            await self.pacer.wait_turn(home.user_id)
            try:
                await self._bot.send_message(home.user_id, text, reply_markup=markup)
                sent += 1
            except (TelegramForbiddenError, TelegramBadRequest):  # blocked, or no such chat: never deliverable
                logger.warning("reminder for home %s refused by Telegram", home.id)
            except TelegramAPIError:  # its lease runs out and a pass (ours or another replica's) tries again
                logger.warning("reminder for home %s not delivered", home.id)
                continue
            await self._homes.reminded(home.id)
        return sent


async def start_reminders(bot: Bot, dispatcher, homes: HomesService, users: UserService,
                          catalogue: CatalogueService, accounts: AccountsService, i18n: I18n, settings) -> None:
    pace = {"rate": settings.BULK_SEND_RATE}
    pacer = RedisPacer.from_url(settings.REDIS_URL, **pace) if settings.REDIS_URL else LocalPacer(**pace)
    worker = ReminderWorker(bot, homes, users, catalogue, accounts, i18n, tick=settings.REMINDER_TICK, pacer=pacer)
    dispatcher["reminder_worker"] = worker
    worker.start()


async def stop_reminders(dispatcher) -> None:
    worker = dispatcher.workflow_data.get("reminder_worker")
    if worker is not None:
        await worker.stop()
        await worker.pacer.close()
