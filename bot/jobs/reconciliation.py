"""The daily reconciliation report: once the Tashkent clock passes RECONCILE_HOUR, yesterday is reconciled and the
report sent to OPERATOR_CHAT_ID, once. Done days live in the `reconciliations` table, so a restart neither skips
nor repeats one.

The row is written after the report is delivered: a pass that fails anywhere (a provider, Telegram) is tried again
on the next tick, so the operator may at worst get a report twice, never miss one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from aiogram import Bot
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.jobs.periodic import Periodic
from bot.money.reconcile import Report, reconcile
from bot.providers.paylov import PaylovClient
from bot.providers.payme import PaymeClient
from bot.providers.paysys import PaysysClient
from bot.services.history import TASHKENT
from bot.storage.models import Reconciliation

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096  # Telegram's text limit, in characters


class ReconcileWorker(Periodic):
    name = "reconciler"

    def __init__(self, bot: Bot, *, payme: PaymeClient | None, paylov: PaylovClient, sessionmaker: async_sessionmaker,
                 chat_id: int, hour: int, tick: float, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 paysys: PaysysClient | None = None) -> None:
        self._bot, self._payme, self._paylov, self._sessions = bot, payme, paylov, sessionmaker
        self._paysys = paysys
        super().__init__(tick=tick)
        self._chat_id, self._hour, self._now = chat_id, hour, now

    async def run_pass(self) -> None:
        await self.run_due()

    async def run_due(self) -> Report | None:
        """One pass: yesterday's report when it is due and not yet sent; None otherwise."""
        local = self._now().astimezone(TASHKENT)
        if local.hour < self._hour:
            return None
        day = local.date() - timedelta(days=1)
        async with self._sessions() as session:
            if await session.get(Reconciliation, day.isoformat()) is not None:
                return None
        report = await reconcile(day, payme=self._payme, paylov=self._paylov, paysys=self._paysys,
                                 sessionmaker=self._sessions)
        for part in split_message(report.text()):
            await self._bot.send_message(self._chat_id, part, parse_mode=None)  # plain text: ids may hold < or &
        await self._record(day, report)
        logger.info("reconciliation of %s sent: %d mismatches", day, len(report.mismatches))
        return report

    async def _record(self, day: date, report: Report) -> None:
        async with self._sessions.begin() as session:
            session.add(Reconciliation(day=day.isoformat(), mismatches=len(report.mismatches), ran_at=self._now()))


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Whole lines per message where they fit; a line longer than a message is cut."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        parts.append(current)
    return parts


async def start_reconciler(bot: Bot, dispatcher, settings, payme: PaymeClient | None = None,
                           paylov: PaylovClient | None = None, sessionmaker: async_sessionmaker | None = None,
                           now: Callable[[], datetime] | None = None, paysys: PaysysClient | None = None) -> None:
    """Startup hook (arguments from workflow data). Off without OPERATOR_CHAT_ID, or with neither Payme nor
    PaySys: nothing to report."""
    if settings.OPERATOR_CHAT_ID is None or (payme is None and paysys is None):
        logger.info("daily reconciliation off: %s", "no OPERATOR_CHAT_ID" if settings.OPERATOR_CHAT_ID is None
                    else "neither Payme nor PaySys is configured")
        return
    if paylov is None or sessionmaker is None:
        raise RuntimeError("start_reconciler needs `paylov` and `sessionmaker` in the Dispatcher's workflow data")
    worker = ReconcileWorker(bot, payme=payme, paylov=paylov, paysys=paysys, sessionmaker=sessionmaker,
                             chat_id=settings.OPERATOR_CHAT_ID, hour=settings.RECONCILE_HOUR,
                             tick=settings.RECONCILE_TICK, **({"now": now} if now else {}))
    dispatcher["reconcile_worker"] = worker
    worker.start()


async def stop_reconciler(dispatcher) -> None:
    worker = dispatcher.workflow_data.get("reconcile_worker")
    if worker is not None:
        await worker.stop()
