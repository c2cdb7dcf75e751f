"""The daily reconciliation report: once the Tashkent clock passes RECONCILE_HOUR, yesterday is reconciled and the
report sent to OPERATOR_CHAT_ID, once, by whichever replica leases the day first. Days live in the
`reconciliations` table, so neither a restart nor a second replica skips or repeats one.

The day is leased (`running`), then reconciled and sent, then marked `done`. A pass that fails anywhere (a provider,
Telegram) gives its lease back and is tried again on the next tick; a replica that dies holding the lease lets
another send once it runs out. So the operator may at worst get a report twice, never miss one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from aiogram import Bot
from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
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
DAY_LEASE = timedelta(minutes=15)  # a day's reconciling and sending; a dead holder's day is sent by another after it


class ReconcileWorker(Periodic):
    name = "reconciler"

    def __init__(self, bot: Bot, *, payme: PaymeClient | None, paylov: PaylovClient, sessionmaker: async_sessionmaker,
                 chat_id: int, hour: int, tick: float, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 paysys: PaysysClient | None = None, owner: str = "local", lease: timedelta = DAY_LEASE) -> None:
        self._bot, self._payme, self._paylov, self._sessions = bot, payme, paylov, sessionmaker
        self._paysys, self._owner, self._lease = paysys, owner, lease
        super().__init__(tick=tick)
        self._chat_id, self._hour, self._now = chat_id, hour, now

    async def run_pass(self) -> None:
        await self.run_due()

    async def run_due(self) -> Report | None:
        """One pass: yesterday's report when it is due, not yet sent and ours to send; None otherwise."""
        local = self._now().astimezone(TASHKENT)
        if local.hour < self._hour:
            return None
        day = local.date() - timedelta(days=1)
        if not await self._lease_day(day):
            return None
        try:
            report = await reconcile(day, payme=self._payme, paylov=self._paylov, paysys=self._paysys,
                                     sessionmaker=self._sessions)
            for part in split_message(report.text()):
                await self._bot.send_message(self._chat_id, part, parse_mode=None)  # plain text: ids may hold < &
        except Exception:
            await self._finish(day, state="running", lease_until=None)  # free at once: the next tick tries again
            raise
        await self._finish(day, state="done", mismatches=len(report.mismatches), ran_at=self._now())
        logger.info("reconciliation of %s sent: %d mismatches", day, len(report.mismatches))
        return report

    async def _lease_day(self, day: date) -> bool:
        """The day is ours: its row made now, or a `running` one whose lease is free (one conditional write each;
        a second replica's write finds the row, or the lease taken)."""
        now = self._now()
        lease = {"lease_owner": self._owner, "lease_until": now + self._lease}
        async with self._sessions.begin() as session:
            dialect = sqlite if session.bind.dialect.name == "sqlite" else postgresql
            made = await session.scalar(dialect.insert(Reconciliation).values(
                day=day.isoformat(), mismatches=0, ran_at=now, state="running", **lease,
            ).on_conflict_do_nothing(index_elements=[Reconciliation.day]).returning(Reconciliation.day))
            if made is not None:
                return True
            taken = await session.scalar(update(Reconciliation).where(
                Reconciliation.day == day.isoformat(), Reconciliation.state == "running",
                or_(Reconciliation.lease_until.is_(None), Reconciliation.lease_until < now),
            ).values(**lease).returning(Reconciliation.day).execution_options(synchronize_session=False))
            return taken is not None

    async def _finish(self, day: date, **values) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Reconciliation).where(
                Reconciliation.day == day.isoformat(), Reconciliation.lease_owner == self._owner,
            ).values(lease_owner=None, **values).execution_options(synchronize_session=False))


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
                           now: Callable[[], datetime] | None = None, paysys: PaysysClient | None = None,
                           payments=None) -> None:
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
                             tick=settings.RECONCILE_TICK, **({"now": now} if now else {}),
                             owner=payments.owner if payments is not None else "local")
    dispatcher["reconcile_worker"] = worker
    worker.start()


async def stop_reconciler(dispatcher) -> None:
    worker = dispatcher.workflow_data.get("reconcile_worker")
    if worker is not None:
        await worker.stop()
