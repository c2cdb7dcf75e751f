"""The pace of bulk sends (bot/jobs/pacing.py) on a fake clock: two replicas sending at once through pacers that share
one real Redis never send more than the rate in any second of that clock, in total, and never two messages to one
chat within a second, even when the chat's homes were claimed by different replicas."""

from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest
import redis.asyncio as aioredis

from bot.jobs.pacing import LocalPacer, Pacer, RedisPacer

SECOND = 1_000_000  # µs


class VirtualTime:
    """A fake clock for concurrent senders: time moves only when every sender is asleep, straight to the earliest
    wake-up. A sender waiting on Redis is awake, so the clock stands still meanwhile. Whole µs, from a small start:
    the float seconds of today's epoch are exact only to a quarter of a µs."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = micro(start)
        self._sleepers: list[tuple[int, int, asyncio.Future]] = []
        self._order = itertools.count()
        self._awake = 0

    def __call__(self) -> float:
        return self._now / SECOND

    async def sleep(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + micro(seconds), next(self._order), woken))
        self._awake -= 1
        self._advance()
        await woken

    def _advance(self) -> None:
        if self._awake == 0 and self._sleepers:
            at, _, woken = heapq.heappop(self._sleepers)
            self._now = max(self._now, at)
            self._awake += 1
            woken.set_result(None)

    async def run(self, *senders):
        self._awake = len(senders)

        async def one(sender):
            try:
                return await sender
            finally:
                self._awake -= 1
                self._advance()

        return await asyncio.gather(*(one(sender) for sender in senders))


def micro(seconds: float) -> int:
    return round(seconds * SECOND)


async def replica(pacer: Pacer, clock: VirtualTime, chats: list[int]) -> list[tuple[int, int]]:
    """One replica's reminder pass: its claimed homes in turn, each sent when the pacer lets it (chat, µs)."""
    sent = []
    for chat in chats:
        await pacer.wait_turn(chat)
        sent.append((chat, micro(clock())))
    return sent


def busiest_second(times: list[int]) -> int:
    """The most sends in any one-second window [t, t + 1 s) of the clock."""
    times = sorted(times)
    return max(sum(1 for other in times if t <= other < t + SECOND) for t in times)


def closest_to_one_chat(sends: list[tuple[int, int]]) -> int:
    """The shortest time between two sends to one chat."""
    by_chat: dict[int, list[int]] = {}
    for chat, at in sends:
        by_chat.setdefault(chat, []).append(at)
    return min(b - a for times in by_chat.values() for a, b in itertools.pairwise(sorted(times)))


# 100 homes claimed by two replicas, 50 each. Replica A's users have two homes each, back to back (the chat rule
# binds there); B's users one each (B could use the whole budget alone); chats 9000 and 9001 have a home on each.
A = [9000, *(7000 + i // 2 for i in range(48)), 9001]
B = [9000, *(8000 + i for i in range(48)), 9001]


@pytest.fixture
async def redis_pacers(redis_url):
    made: list[RedisPacer] = []

    def make(clock: VirtualTime, rate: int = 25) -> RedisPacer:
        made.append(RedisPacer(aioredis.Redis.from_url(redis_url), rate=rate, clock=clock, sleep=clock.sleep))
        return made[-1]

    yield make
    for pacer in made:
        await pacer.close()


async def test_two_replicas_share_one_budget_and_each_chat_through_redis(redis_pacers):
    clock = VirtualTime()
    sent_a, sent_b = await clock.run(replica(redis_pacers(clock), clock, A), replica(redis_pacers(clock), clock, B))
    sends = sent_a + sent_b

    assert len(sends) == 100
    assert busiest_second([at for _, at in sends]) == 25  # the whole budget used, never more
    assert closest_to_one_chat(sends) >= SECOND
    # B was not held back by A's waits on its users' second homes: B's 50 went within about 3 s.
    b_times = [at for _, at in sent_b]
    assert max(b_times) - min(b_times) < 3 * SECOND


async def test_a_pacer_alone_on_redis_keeps_to_its_rate(redis_pacers):
    clock = VirtualTime()
    [sends] = await clock.run(replica(redis_pacers(clock, rate=10), clock, list(range(30))))
    times = [at for _, at in sends]
    assert busiest_second(times) == 10
    assert max(times) - min(times) == micro(2.9)  # evenly spaced: 29 gaps of 0.1 s


async def test_in_process_pacer():
    clock = VirtualTime()
    pacer = LocalPacer(rate=25, clock=clock, sleep=clock.sleep)
    sent_a, sent_b = await clock.run(replica(pacer, clock, A), replica(pacer, clock, B))
    sends = sent_a + sent_b
    assert len(sends) == 100
    assert busiest_second([at for _, at in sends]) == 25
    assert closest_to_one_chat(sends) >= SECOND


async def test_two_in_process_pacers_do_not_share_a_budget():
    """Why replicas need the Redis one: two processes pacing on their own exceed the rate between them, and send to a
    chat twice at once."""
    clock = VirtualTime()
    pacers = [LocalPacer(rate=25, clock=clock, sleep=clock.sleep) for _ in range(2)]
    sent_a, sent_b = await clock.run(replica(pacers[0], clock, B), replica(pacers[1], clock, B))
    sends = sent_a + sent_b
    assert busiest_second([at for _, at in sends]) == 50
    assert closest_to_one_chat(sends) == 0


async def test_a_busy_chat_does_not_hold_back_the_next_chat():
    """The next home's chat takes the next slot of the budget, not one after the busy chat's second."""
    clock = VirtualTime(start=100.0)
    pacer = LocalPacer(rate=25, clock=clock, sleep=clock.sleep)
    [sends] = await clock.run(replica(pacer, clock, [1, 2, 1, 3]))
    start = micro(100.0)
    assert sends == [(1, start), (2, start + micro(0.04)), (1, start + SECOND), (3, start + SECOND + micro(0.04))]
