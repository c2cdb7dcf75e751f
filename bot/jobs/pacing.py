"""The pace of bulk sends (the monthly reminders): Telegram takes about 30 messages a second per bot, shared by every
replica, and about one a second per chat, and answers 429 beyond that. Bulk sends keep to `rate` a second in total
(25 by default: the rest is left to the users' own conversations) and to one a second per chat.

Each send reserves a slot before it goes: the next free time of the bot's budget, spaced 1/rate apart, and of the
chat, spaced a second apart. Slots are evenly spaced, so no second of time ever holds more than `rate` sends. A chat
not yet free is waited for without taking a slot, so one user's several homes do not hold back everyone else's.

RedisPacer keeps the two times in Redis and reserves a slot in one Lua script, so every replica draws on one budget;
LocalPacer keeps them in memory, for a single process (no REDIS_URL). Times are the injected clock's, in whole
microseconds (a test moves a fake clock; Redis's own clock only expires keys nobody needs any more).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]

RATE = 25  # sends a second, in total across replicas
CHAT_INTERVAL = 1.0  # seconds between two sends to one chat
MICRO = 1_000_000


class Pacer:
    def __init__(self, *, rate: float = RATE, chat_interval: float = CHAT_INTERVAL, clock: Clock = time.time,
                 sleep: Sleep = asyncio.sleep) -> None:
        if rate <= 0 or chat_interval < 0:
            raise ValueError("rate must be positive and chat_interval not negative")
        self._gap = math.ceil(MICRO / rate)  # rounded up: never faster than the rate
        self._chat_gap = math.ceil(chat_interval * MICRO)
        self._clock, self._sleep = clock, sleep

    async def wait_turn(self, chat_id: int) -> None:
        """Returns when a message to this chat may go (at once, or after sleeping for its slot)."""
        while True:
            now = round(self._clock() * MICRO)
            reserved, wait = await self._reserve(chat_id, now)
            if wait > 0:
                await self._sleep(wait / MICRO)
            if reserved:
                return

    async def _reserve(self, chat_id: int, now: int) -> tuple[bool, int]:
        """(True, µs until the reserved slot), or (False, µs until the chat is free) without a slot."""
        raise NotImplementedError

    async def close(self) -> None:
        pass


class LocalPacer(Pacer):
    """One process's pace (SQLite, or PostgreSQL without Redis: a single replica)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._next = 0
        self._chats: dict[int, int] = {}  # chat -> its next free time; only chats sent to within chat_interval

    async def _reserve(self, chat_id: int, now: int) -> tuple[bool, int]:
        free = self._chats.get(chat_id, 0)
        if free > now:
            return False, free - now
        slot = max(now, self._next)
        self._next = slot + self._gap
        if len(self._chats) > 10_000:  # forget chats long free
            self._chats = {chat: at for chat, at in self._chats.items() if at > now}
        self._chats[chat_id] = slot + self._chat_gap
        return True, slot - now


# KEYS: the bot's next free time, the chat's. ARGV: now, the gap between sends, between a chat's sends (µs), and how
# long Redis keeps a time after it has passed (ms). Returns {1, µs to the slot} or {0, µs until the chat is free}.
RESERVE = """
local now = tonumber(ARGV[1])
local chat = tonumber(redis.call('GET', KEYS[2]) or '0')
if chat > now then
  return {0, chat - now}
end
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local keep = tonumber(ARGV[4])
redis.call('SET', KEYS[1], string.format('%d', slot + tonumber(ARGV[2])),
           'PX', math.floor((slot - now) / 1000) + keep)
redis.call('SET', KEYS[2], string.format('%d', slot + tonumber(ARGV[3])),
           'PX', math.floor((slot - now) / 1000) + keep)
return {1, slot - now}
"""
KEEP_MS = 60_000  # far beyond any gap: a key expires only once its time is long past


class RedisPacer(Pacer):
    """One budget for every replica: the times live in Redis under `prefix`."""

    def __init__(self, redis: Redis, *, prefix: str = "paybot:pace:bulk", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(RESERVE)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisPacer:
        return cls(Redis.from_url(url), **kwargs)

    async def _reserve(self, chat_id: int, now: int) -> tuple[bool, int]:
        reserved, wait = await self._script(keys=[f"{self._prefix}:all", f"{self._prefix}:chat:{chat_id}"],
                                            args=[now, self._gap, self._chat_gap, KEEP_MS])
        return bool(reserved), int(wait)

    async def close(self) -> None:
        await self._redis.aclose()
