"""Conversations and per-chat locks in Redis (REDIS_URL), as bot.app.build_storage makes them for every replica: FSM
keys expire, a chat locked by a replica that died comes free after the configured timeout (not aiogram's 60 s), the
bot runs a whole flow on Redis, and two replicas behind one address carry on one conversation between them."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest
import redis.asyncio as aioredis
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Update
from aiohttp import web
from sqlalchemy import func, select

from bot.app import Services, build_bot, build_dispatcher, build_storage, open_services
from bot.jobs.pacing import RedisPacer
from bot.sandbox.harness import BotProcess
from bot.sandbox.postgres import free_port
from bot.sandbox.scenarios import add_card, registered, to_number_step
from bot.settings import Settings, load_settings
from bot.storage.fsm import SqlContext
from bot.storage.models import FsmRecord
from bot.storage.update_scope import one_update

KEY = StorageKey(bot_id=42, chat_id=7001, user_id=7001)
DAY = 86400


def redis_settings(redis_url: str, **overrides: object) -> Settings:
    """The storage's settings alone: no .env, no environment (the Redis branch of build_storage needs no service)."""
    return load_settings(_env_file=None, BOT_TOKEN="42:storage", REDIS_URL=redis_url, **overrides)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def storages(redis_url: str) -> AsyncIterator[Callable[..., tuple]]:
    """(storage, isolation) pairs as build_storage makes them, each a replica's own; closed at the end."""
    made = []

    def make(**overrides: object) -> tuple:
        made.append(build_storage(redis_settings(redis_url, **overrides), None))
        return made[-1]

    yield make
    for storage, isolation in made:
        await isolation.close()
        await storage.close()


def test_conversations_are_kept_30_days_by_default():
    assert redis_settings("redis://127.0.0.1:1/0").REDIS_STATE_TTL == 30 * DAY


async def test_fsm_keys_expire(storages, redis):
    storage, _ = storages(REDIS_STATE_TTL=3 * DAY)
    await storage.set_state(KEY, "Pay:amount")
    await storage.set_data(KEY, {"service_id": 5})

    keys = sorted(await redis.keys("fsm:*"))
    assert [key.rsplit(":", 1)[1] for key in keys] == ["data", "state"]
    for key in keys:
        assert 3 * DAY - 60 < await redis.ttl(key) <= 3 * DAY


async def test_state_and_data_round_trip_between_replicas(storages, redis):
    """What one replica writes the next reads, through the context FsmMiddleware gives handlers; clear() leaves no
    key behind (SqlContext falls back to aiogram's clear: RedisStorage has none of its own)."""
    (one, _), (other, _) = storages(), storages()
    context = SqlContext(storage=one, key=KEY)
    with one_update():
        await context.set_state("AddCard:number")
        await context.update_data(expiry="0399", attempt=1)
    with one_update():
        again = SqlContext(storage=other, key=KEY)
        assert await again.get_state() == "AddCard:number"
        assert await again.get_data() == {"expiry": "0399", "attempt": 1}
        await again.clear()
    assert await one.get_state(KEY) is None and await one.get_data(KEY) == {}
    assert await redis.keys("fsm:*") == []


async def test_a_dead_replicas_chat_lock_runs_out_after_the_configured_timeout(storages, redis):
    """The replica that took the chat's lock dies holding it (never releases); another replica's update for that chat
    waits, then runs once the lock's timeout, just above UPDATE_DEADLINE, has passed."""
    # The live replica's own lock lasts longer, so that a loaded machine cannot see it run out before the check.
    (_, dead), (_, alive) = (storages(UPDATE_DEADLINE=0.2, REDIS_LOCK_TIMEOUT=0.5),
                             storages(UPDATE_DEADLINE=0.2, REDIS_LOCK_TIMEOUT=30))
    held = dead.lock(KEY)
    await held.__aenter__()  # and never __aexit__: the process was killed

    [lock_key] = await redis.keys("fsm:*:lock")
    assert 0 < await redis.pttl(lock_key) <= 500  # aiogram's default would be 60 000
    assert not await alive.redis.lock(lock_key, timeout=1, blocking=False).acquire()  # the chat is held

    taken = alive.lock(KEY)  # kept: a lock context collected by the garbage collector would release the lock
    await asyncio.wait_for(taken.__aenter__(), timeout=10)  # aiogram's lock polls until the key expires
    assert await redis.exists(lock_key) == 1  # now held by the live replica


async def test_a_handler_outliving_its_lock_is_not_an_error(storages, redis):
    """Polling mode has no update deadline: a handler may outlast the lock. Its release is then quiet, not an error
    that the user would be told about."""
    _, isolation = storages(UPDATE_DEADLINE=0.2, REDIS_LOCK_TIMEOUT=0.5)
    async with isolation.lock(KEY):
        [lock_key] = await redis.keys("fsm:*:lock")
        while await redis.exists(lock_key):
            await asyncio.sleep(0.05)  # polling the lock until it has run out


# ---- the bot on Redis ---------------------------------------------------------------------------------------------

async def fsm_rows(services) -> int:
    async with services.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(FsmRecord))


async def test_adding_a_card_end_to_end_with_redis(make_settings, telegram, paylov, redis_url, redis):
    """The bot as production wires it, polling, with REDIS_URL: onboarding, then a card added step by step. At the SMS
    code step the conversation is in Redis, expiring, and not in the database."""
    process = BotProcess(make_settings(REDIS_URL=redis_url, REDIS_STATE_TTL=7 * DAY))
    await process.start()
    try:
        user = await registered(telegram, 901)
        await to_number_step(user)
        await user.send("8600 0691 9540 6311")
        await user.wait_message("I sent a code by SMS")

        [state] = await redis.keys("fsm:901:901:state")
        assert (await redis.get(state)).startswith("AddCard:")
        assert 7 * DAY - 60 < await redis.ttl(state) <= 7 * DAY
        assert await fsm_rows(process.services) == 0

        await user.send("666666")
        await user.wait_message("is saved")
        assert len(paylov.calls("userCard/confirmUserCardCreate/")) == 1
        assert isinstance(process.dispatcher["reminder_worker"].pacer, RedisPacer)  # bulk sends share one pace
    finally:
        await process.stop()


class LoadBalancer:
    """One webhook address in front of two replicas' dispatchers, handing updates out in turn (the first to replica
    0, the next to 1, ...), as a reverse proxy does."""

    def __init__(self, replicas: list[tuple[Bot, Dispatcher]]) -> None:
        self.replicas = replicas
        self.handled: list[list[int]] = [[] for _ in replicas]
        self._turn = itertools.cycle(range(len(replicas)))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        self._runner: web.AppRunner | None = None

    async def _post(self, request: web.Request) -> web.Response:
        index = next(self._turn)
        bot, dispatcher = self.replicas[index]
        update = Update.model_validate(await request.json(), context={"bot": bot})
        await dispatcher.feed_update(bot, update)
        self.handled[index].append(update.update_id)
        return web.json_response({})

    async def __aenter__(self) -> LoadBalancer:
        app = web.Application()
        app.router.add_post("/webhook", self._post)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._runner.cleanup()


async def replica(stack: AsyncExitStack, settings: Settings) -> tuple[Bot, Dispatcher, Services]:
    """One replica as production wires it: its own services, bot and dispatcher (with its jobs), sharing only the
    database and Redis with the others."""
    services = await stack.enter_async_context(open_services(settings))
    bot = build_bot(services.settings)
    stack.push_async_callback(bot.session.close)
    dispatcher = build_dispatcher(services.settings, services)
    data = {"dispatcher": dispatcher, "bots": [bot], **dispatcher.workflow_data}
    await dispatcher.emit_startup(bot=bot, **data)
    stack.push_async_callback(dispatcher.emit_shutdown, bot=bot, **data)
    return bot, dispatcher, services


async def test_two_replicas_carry_one_conversation(make_settings, telegram, paylov, redis_url):
    """Each update of one user goes to the other replica than the last: onboarding and adding a card (expiry, number,
    SMS code) still go step by step, each step begun on one replica and continued on the other."""
    settings = make_settings(REDIS_URL=redis_url)
    async with AsyncExitStack() as stack:
        replicas = [await replica(stack, settings) for _ in range(2)]
        balancer = await stack.enter_async_context(LoadBalancer([(bot, dp) for bot, dp, _ in replicas]))
        bot, dispatcher, services = replicas[0]
        await bot.set_webhook(balancer.url, allowed_updates=dispatcher.resolve_used_update_types())

        user = await registered(telegram, 902)
        await add_card(user)

        assert len(paylov.calls("userCard/confirmUserCardCreate/")) == 1  # add_card saw "is saved"
        handled = [len(ids) for ids in balancer.handled]
        assert sum(handled) >= 7 and abs(handled[0] - handled[1]) <= 1  # both replicas took turns on this chat
        assert await fsm_rows(services) == 0  # what they shared was in Redis
