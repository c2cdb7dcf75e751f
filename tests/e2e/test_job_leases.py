"""Jobs on N replicas: the once-a-day report and the monthly reminders are leased by one replica, sent, then marked
done; two replicas at once send once, and a replica that dies holding a lease lets another send after it runs out.
Each "replica" is a worker of its own (its own owner) on the same database, as two processes would be."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.jobs.reconciliation import DAY_LEASE, ReconcileWorker
from bot.services.history import TASHKENT
from bot.services.homes import REMINDER_LEASE, HomesService
from bot.storage.models import Home, Reconciliation, User
from tests.e2e.conftest import OPERATOR



def reports(operator) -> list[str]:
    return [m.text for m in operator.bot_messages if m.text.startswith("Reconciliation ")]


def replica(app, bot, owner: str, clock: list[datetime]) -> ReconcileWorker:
    services = app.services
    return ReconcileWorker(bot, payme=services.payme, paylov=services.paylov, sessionmaker=services.sessionmaker,
                           chat_id=OPERATOR, hour=6, tick=600, now=lambda: clock[0], owner=owner)


def morning_after(provider_clock) -> list[datetime]:
    day = datetime.fromtimestamp(provider_clock.now, TASHKENT).date()
    return [datetime.combine(day + timedelta(days=1), datetime.min.time(), TASHKENT).replace(hour=7)]


async def days(app) -> list[tuple[str, str, str | None]]:
    async with app.services.sessionmaker() as session:
        rows = (await session.scalars(select(Reconciliation))).all()
    return [(row.day, row.state, row.lease_owner) for row in rows]


async def test_two_replicas_send_the_days_report_once(app, bot, operator, provider_clock):
    clock = morning_after(provider_clock)
    first, second = replica(app, bot, "replica-a", clock), replica(app, bot, "replica-b", clock)

    results = await asyncio.gather(first.run_due(), second.run_due(), first.run_due(), second.run_due())

    assert sum(result is not None for result in results) == 1
    await operator.wait_for(lambda: len(reports(operator)) == 1)
    assert [(state, owner) for _day, state, owner in await days(app)] == [("done", None)]
    assert await first.run_due() is None and await second.run_due() is None
    assert len(reports(operator)) == 1


async def test_a_replica_dead_holding_the_day_lets_another_send_after_its_lease(app, bot, operator, telegram,
                                                                               provider_clock):
    clock = morning_after(provider_clock)
    dying, survivor = replica(app, bot, "replica-a", clock), replica(app, bot, "replica-b", clock)
    held = telegram.hold_next("sendMessage")  # the report waits at Telegram: the replica holds the day's lease
    pass_of_the_dying = asyncio.create_task(dying.run_due())
    await held.reached()
    pass_of_the_dying.cancel()  # the replica is gone mid-send; its lease stays in the database
    held.release(proceed=False)
    with pytest.raises(asyncio.CancelledError):
        await pass_of_the_dying
    assert [(state, owner) for _day, state, owner in await days(app)] == [("running", "replica-a")]

    assert await survivor.run_due() is None  # the lease still runs
    clock[0] += DAY_LEASE + timedelta(seconds=1)
    report = await survivor.run_due()

    assert report is not None
    await operator.wait_for(lambda: len(reports(operator)) == 1)
    assert reports(operator) == [report.text()]
    assert [(state, owner) for _day, state, owner in await days(app)] == [("done", None)]


async def test_a_failed_pass_gives_the_day_back_at_once(app, bot, operator, telegram, provider_clock):
    clock = morning_after(provider_clock)
    first, second = replica(app, bot, "replica-a", clock), replica(app, bot, "replica-b", clock)
    telegram.fail_next("sendMessage", "500")

    with pytest.raises(Exception):
        await first.run_due()
    assert [(state, owner) for _day, state, owner in await days(app)] == [("running", None)]
    assert await second.run_due() is not None  # no wait for a lease: the failed pass freed it
    await operator.wait_for(lambda: len(reports(operator)) == 1)


async def test_a_homes_reminder_is_leased_by_one_replica_and_sent_by_another_after_a_death(app):
    """Two replicas' HomesService on one database: one wins the home; a replica dead before marking it reminded
    leaves it to another once its lease runs out; marked, nobody sends it again this month."""
    sessions = app.services.sessionmaker
    async with sessions.begin() as session:
        session.add(User(id=9301, language="en"))
        await session.flush()
        session.add(Home(user_id=9301, name="Home", service_id="1", service_name="Electricity",
                         account={"account": "1"}, account_key='{"account": "1"}', account_display=[],
                         reminder_day=5))
    today = date(2026, 12, 5)
    clock = [datetime(2026, 12, 5, 4, tzinfo=UTC)]

    def homes(owner: str) -> HomesService:
        return HomesService(sessions, today=lambda: today, owner=owner, now=lambda: clock[0])

    first, second = homes("replica-a"), homes("replica-b")
    won = await asyncio.gather(first.claim_due_reminders(), second.claim_due_reminders())
    assert sorted(len(claimed) for claimed in won) == [0, 1]

    # The winner dies before `reminded`: nobody else sends while its lease runs, another does after.
    assert await first.claim_due_reminders() == [] and await second.claim_due_reminders() == []
    clock[0] += timedelta(seconds=REMINDER_LEASE + 1)
    [home] = await second.claim_due_reminders()
    await second.reminded(home.id)

    clock[0] += timedelta(seconds=REMINDER_LEASE + 1)
    assert await first.claim_due_reminders() == [] and await second.claim_due_reminders() == []
    async with sessions() as session:
        row = await session.get(Home, home.id)
    assert (row.last_reminded, row.reminder_lease_owner) == ("2026-12", None)
