"""The update inbox (bot/services/inbox.py) on SQLite and PostgreSQL: a new update is run, a re-send of one being
handled is busy and of one handled done, a released or abandoned one runs again (taken over once), concurrent claims
of one update_id give exactly one run, and the 48-hour purge takes only what Telegram will never re-send."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.services.inbox import Claim, Outcome, UpdateInbox
from bot.storage.db import Sessions, make_engine, make_sessionmaker
from bot.storage.models import InboxUpdate

LEASE = timedelta(seconds=30)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def other_sessions(database_url: str, sessions: Sessions) -> AsyncIterator[Sessions]:
    """A second engine on the same database: a second process's connections."""
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def inbox(sessions: Sessions, clock: Clock, owner: str = "replica-a") -> UpdateInbox:
    return UpdateInbox(sessions, owner, LEASE, now=clock)


async def rows(sessions: Sessions) -> dict[int, InboxUpdate]:
    async with sessions() as session:
        return {row.update_id: row for row in await session.scalars(select(InboxUpdate))}


def at(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite gives back naive UTC


async def test_a_new_update_is_run_and_a_second_claim_is_busy(sessions, clock):
    a, b = inbox(sessions, clock, "replica-a"), inbox(sessions, clock, "replica-b")
    first = await a.claim(1001)
    assert first.outcome is Outcome.RUN and first.run and first.attempts == 1
    assert first.holder.startswith("replica-a/")
    assert (await b.claim(1001)).outcome is Outcome.BUSY  # another process
    assert (await a.claim(1001)).outcome is Outcome.BUSY  # a re-send to the same process while it is in hand
    row = (await rows(sessions))[1001]
    assert (row.state, row.lease_owner, row.attempts) == ("handling", first.holder, 1)
    assert at(row.lease_until) == clock.now + LEASE and at(row.created_at) == clock.now and row.done_at is None


async def test_a_finished_update_is_done_and_never_run_again(sessions, clock):
    a, b = inbox(sessions, clock, "replica-a"), inbox(sessions, clock, "replica-b")
    claim = await a.claim(1002)
    clock.advance(seconds=5)
    assert await a.finish(claim) is True
    row = (await rows(sessions))[1002]
    assert row.state == "done" and at(row.done_at) == clock.now and row.lease_until is None
    clock.advance(hours=30)  # long after any lease
    assert (await b.claim(1002)) == Claim(1002, Outcome.DONE)
    assert (await a.claim(1002)).outcome is Outcome.DONE
    assert await a.finish(claim) is False  # already done: nothing to finish


async def test_finish_and_release_by_update_id_use_the_claim_this_inbox_holds(sessions, clock):
    a, b = inbox(sessions, clock, "replica-a"), inbox(sessions, clock, "replica-b")
    assert (await a.claim(1003)).run
    assert await b.finish(1003) is False and await b.release(1003) is False  # not b's
    assert await a.finish(1003) is True
    assert (await a.claim(1003)).outcome is Outcome.DONE
    assert (await a.claim(1004)).run
    assert await a.release(1004) is True
    assert await a.release(1004) is False and await a.finish(1004) is False  # given back: no longer a's


async def test_a_released_update_runs_again(sessions, clock):
    a, b = inbox(sessions, clock, "replica-a"), inbox(sessions, clock, "replica-b")
    first = await a.claim(1005)
    assert await a.release(first) is True  # the database went away mid-handler: answered 500
    again = await b.claim(1005)  # Telegram's re-send, at once, to another replica
    assert again.run and again.attempts == 2 and again.holder.startswith("replica-b/")
    assert (await a.claim(1005)).outcome is Outcome.BUSY
    assert await a.finish(first) is False  # the released claim cannot finish what b now holds
    assert await b.finish(again) is True
    assert (await a.claim(1005)).outcome is Outcome.DONE


async def test_an_expired_lease_of_a_dead_holder_is_taken_over_once(sessions, other_sessions, clock):
    dead = inbox(sessions, clock, "replica-dead")
    await dead.claim(1006)
    clock.advance(seconds=29)
    assert (await inbox(other_sessions, clock, "replica-b").claim(1006)).outcome is Outcome.BUSY  # still live
    clock.advance(seconds=2)  # the lease is over
    heirs = [inbox(other_sessions, clock, f"replica-{n}") for n in range(5)]
    claims = await asyncio.gather(*(heir.claim(1006) for heir in heirs))
    [won] = [claim for claim in claims if claim.run]
    assert won.attempts == 2
    assert Counter(claim.outcome for claim in claims) == {Outcome.RUN: 1, Outcome.BUSY: 4}
    row = (await rows(sessions))[1006]
    assert row.lease_owner == won.holder and at(row.lease_until) == clock.now + LEASE and row.attempts == 2


async def test_a_holder_whose_lease_was_taken_over_cannot_finish_or_release(sessions, clock):
    slow, heir = inbox(sessions, clock, "replica-slow"), inbox(sessions, clock, "replica-heir")
    stale = await slow.claim(1007)
    clock.advance(seconds=31)
    taken = await heir.claim(1007)
    assert taken.run
    assert await slow.finish(stale) is False
    assert await slow.release(stale) is False
    assert await slow.finish(1007) is False  # by update_id too
    row = (await rows(sessions))[1007]
    assert (row.state, row.lease_owner) == ("handling", taken.holder)
    assert await heir.finish(taken) is True


async def test_a_process_that_takes_over_its_own_expired_claim_finishes_only_the_new_one(sessions, clock):
    """The same owner (one process) re-claims an update whose lease it let run out: the claims differ."""
    a = inbox(sessions, clock, "replica-a")
    old = await a.claim(1008)
    clock.advance(seconds=31)
    new = await a.claim(1008)
    assert new.run and new.holder != old.holder
    assert await a.finish(old) is False
    assert await a.finish(new) is True


@pytest.mark.parametrize("engines", [1, 2])
async def test_twenty_concurrent_claims_of_one_update_give_exactly_one_run(sessions, other_sessions, clock, engines):
    """Separate sessions each (and on PostgreSQL separate connections racing for real), from one engine or two."""
    hands = [inbox((sessions, other_sessions)[n % engines], clock, f"replica-{n}") for n in range(20)]
    claims = await asyncio.gather(*(hand.claim(2001) for hand in hands))
    assert Counter(claim.outcome for claim in claims) == {Outcome.RUN: 1, Outcome.BUSY: 19}
    [won] = [claim for claim in claims if claim.run]
    assert won.attempts == 1
    assert (await rows(sessions))[2001].lease_owner == won.holder


async def test_twenty_concurrent_claims_of_an_expired_lease_give_exactly_one_run(sessions, other_sessions, clock):
    await inbox(sessions, clock, "replica-dead").claim(2002)
    clock.advance(minutes=5)
    hands = [inbox((sessions, other_sessions)[n % 2], clock, f"replica-{n}") for n in range(20)]
    claims = await asyncio.gather(*(hand.claim(2002) for hand in hands))
    assert Counter(claim.outcome for claim in claims) == {Outcome.RUN: 1, Outcome.BUSY: 19}
    assert (await rows(sessions))[2002].attempts == 2


async def test_concurrent_claims_of_many_updates_run_each_once(sessions, other_sessions, clock):
    hands = [inbox((sessions, other_sessions)[n % 2], clock, f"replica-{n}") for n in range(4)]
    claims = await asyncio.gather(*(hand.claim(3000 + update) for update in range(10) for hand in hands))
    runs = Counter(claim.update_id for claim in claims if claim.run)
    assert runs == {3000 + update: 1 for update in range(10)}


async def test_purge_deletes_only_old_done_and_abandoned_updates(sessions, clock):
    a = inbox(sessions, clock, "replica-a")
    old_done, old_released, old_dead = await a.claim(4001), await a.claim(4002), await a.claim(4003)
    await a.finish(old_done)
    await a.release(old_released)
    clock.advance(hours=47)
    recent_done = await a.claim(4004)
    await a.finish(recent_done)
    await a.claim(4005)  # recent and in hand
    clock.advance(hours=1, seconds=1)  # 4001-4003 are now 48 hours old
    long_held = inbox(sessions, clock, "replica-b")
    assert (await long_held.claim(4003)).run  # an old update re-claimed: its lease runs now, so it stays

    assert await a.purge() == 2
    assert sorted(await rows(sessions)) == [4003, 4004, 4005]
    assert await a.purge() == 0

    clock.advance(hours=48)  # everything is old; 4003's and 4005's leases are long over
    assert await a.purge(older_than=timedelta(hours=48)) == 3
    assert await rows(sessions) == {}


async def test_purge_keeps_everything_younger_than_asked(sessions, clock):
    a = inbox(sessions, clock, "replica-a")
    await a.finish(await a.claim(5001))
    clock.advance(hours=1)
    assert await a.purge(older_than=timedelta(hours=2)) == 0
    assert await a.purge(older_than=timedelta(minutes=30)) == 1


async def test_a_purged_update_is_new_again(sessions, clock):
    a = inbox(sessions, clock, "replica-a")
    await a.finish(await a.claim(6001))
    clock.advance(hours=49)
    await a.purge()
    assert (await a.claim(6001)).run


def test_an_owner_and_a_lease_are_checked(sessions):
    with pytest.raises(ValueError):
        UpdateInbox(sessions, "", LEASE)
    with pytest.raises(ValueError):
        UpdateInbox(sessions, "x" * 96, LEASE)
    with pytest.raises(ValueError):
        UpdateInbox(sessions, "replica", timedelta(0))
