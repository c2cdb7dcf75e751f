"""Webhook delivery by the Telegram double, against a tiny aiohttp receiver on 127.0.0.1 that each test scripts.

The receiver is the test's, not the bot: it answers each update as told (a status, a hold until the test lets it
go, a hang past the double's timeout, a dropped connection) and records what arrived. No sleeps: tests wait on the
receiver's and the double's conditions.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramConflictError
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.sandbox.telegram import SECRET_HEADER, TelegramDouble

TOKEN = "4242:webhook-test-token"
SECRET = "s3cret_token-42"
WAIT = 5.0


@dataclass
class Received:
    text: str
    update: dict
    headers: dict[str, str]


class Receiver:
    """A webhook endpoint: each request takes the next answer scripted for its message text (200 when none).

    An answer is an HTTP status, an asyncio.Event (held until it is set, then 200), "hang" (no answer until the
    receiver closes) or "drop" (the connection is closed unanswered).
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._answers: dict[str, deque] = {}
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def script(self, text: str, *answers: int | str | asyncio.Event) -> None:
        self._answers.setdefault(text, deque()).extend(answers)

    def hold(self, text: str) -> asyncio.Event:
        release = asyncio.Event()
        self.script(text, release)
        return release

    def texts(self) -> list[str]:
        return [r.text for r in self.received]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def _handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        text = next((p.get("text", "") for k, p in update.items() if isinstance(p, dict)), "")
        queue = self._answers.get(text)
        answer = queue.popleft() if queue else 200
        async with self._changed:
            self.received.append(Received(text, update, dict(request.headers)))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._changed.notify_all()
        try:
            if isinstance(answer, asyncio.Event):
                await answer.wait()
                answer = 200
            elif answer == "hang":
                await self._closing.wait()
                answer = 200
            elif answer == "drop":
                assert request.transport is not None
                request.transport.close()
                answer = 200
            return web.json_response({}, status=answer)
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    async def start(self, path: str = "/hook") -> str:
        app = web.Application()
        app.router.add_post(path, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}{path}"
        return self.url

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramDouble]:
    double = TelegramDouble(webhook_timeout=10.0, webhook_backoff=0.05)
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    await endpoint.start()
    yield endpoint
    await endpoint.stop()


@pytest.fixture
async def bot(telegram: TelegramDouble) -> AsyncIterator[Bot]:
    """A Bot that is not polling: each call is one request the test makes."""
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(telegram.base_url)))
    yield bot
    await bot.session.close()


async def send(telegram: TelegramDouble, user_id: int, text: str) -> int:
    """The user sends `text`; the id of the update it made."""
    await telegram.user(user_id).send(text)
    return telegram.last_update_id


# ---- setWebhook, getWebhookInfo, deleteWebhook ------------------------------------------------------------------

async def test_set_webhook_is_recorded_and_reported(telegram, bot, receiver):
    await send(telegram, 1, "before the webhook")  # pending: setWebhook keeps it
    assert await bot.set_webhook(receiver.url, secret_token=SECRET, allowed_updates=["message", "callback_query"],
                                 max_connections=7)
    [call] = telegram.calls_of("setWebhook")
    assert call.ok and call.params["url"] == receiver.url and call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "callback_query"] and call.params["max_connections"] == 7
    assert "drop_pending_updates" not in call.params
    assert telegram.webhook is not None and telegram.webhook.max_connections == 7
    assert telegram.webhook.secret_token == SECRET

    await receiver.wait_for(lambda: receiver.texts() == ["before the webhook"])
    await telegram.wait_for(lambda: not telegram.updates)
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.max_connections) == (receiver.url, 0, 7)
    assert sorted(info.allowed_updates or []) == ["callback_query", "message"]
    assert info.last_error_date is None and info.last_error_message is None

    assert await bot.delete_webhook()
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("", 0)
    assert telegram.webhook is None
    assert [c.method for c in telegram.calls if c.method.endswith("Webhook")] == ["setWebhook", "deleteWebhook"]


async def test_set_webhook_refuses_what_telegram_refuses(telegram, bot):
    cases = [("http://example.com/hook", {}, "An HTTPS URL must be provided"),
             ("ftp://127.0.0.1/hook", {}, "An HTTPS URL must be provided"),
             ("http://127.0.0.1:1/hook", {"max_connections": 101}, "max_connections"),
             ("http://127.0.0.1:1/hook", {"secret_token": "no spaces"}, "unallowed characters")]
    for url, extra, error in cases:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{telegram.base_url}/bot{TOKEN}/setWebhook",
                                    json={"url": url, **extra}) as response:
                body = await response.json()
        assert response.status == 400 and error in body["description"], (url, body)
    assert telegram.webhook is None


async def test_drop_pending_updates_only_when_asked(telegram, bot, receiver):
    await send(telegram, 2, "dropped")
    assert await bot.set_webhook(receiver.url, drop_pending_updates=True)
    assert telegram.updates == []
    update_id = await send(telegram, 2, "kept")
    await telegram.delivered(update_id)
    assert receiver.texts() == ["kept"]


# ---- delivery ---------------------------------------------------------------------------------------------------

async def test_updates_are_posted_with_the_secret_header(telegram, bot, receiver):
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    update_id = await send(telegram, 10, "hello")
    delivery = await telegram.delivered(update_id)
    assert (delivery.status, delivery.attempt, delivery.error, delivery.url) == (200, 1, None, receiver.url)
    [got] = receiver.received
    assert got.headers[SECRET_HEADER] == SECRET and got.headers["Content-Type"].startswith("application/json")
    assert got.update["update_id"] == update_id and got.update["message"]["text"] == "hello"
    assert got.update["message"]["chat"]["id"] == 10
    assert telegram.updates == [] and telegram.deliveries == [delivery]


async def test_no_secret_no_header(telegram, bot, receiver):
    await bot.set_webhook(receiver.url)
    await telegram.delivered(await send(telegram, 11, "plain"))
    assert SECRET_HEADER not in receiver.received[0].headers


async def test_one_chat_in_order_while_other_chats_go_on(telegram, bot, receiver):
    await bot.set_webhook(receiver.url)
    release_first = receiver.hold("a1")
    a1 = await send(telegram, 20, "a1")
    await receiver.wait_for(lambda: receiver.texts() == ["a1"])
    a2 = await send(telegram, 20, "a2")  # the same chat: waits until a1 is answered
    b1 = await send(telegram, 21, "b1")  # another chat: goes at once
    await telegram.delivered(b1)
    assert receiver.texts() == ["a1", "b1"]  # a2 has not been sent while a1 is unanswered
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 2  # a1 (in flight) and a2

    release_first.set()
    first, second = await telegram.delivered(a1), await telegram.delivered(a2)
    assert receiver.texts() == ["a1", "b1", "a2"]
    assert second.at >= first.at + first.elapsed - 0.01  # sent after a1's answer
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_chats_in_parallel_up_to_max_connections(telegram, bot, receiver):
    await bot.set_webhook(receiver.url, max_connections=2)
    releases = [receiver.hold(f"c{n}") for n in range(3)]
    ids = [await send(telegram, 30 + n, f"c{n}") for n in range(3)]
    await receiver.wait_for(lambda: receiver.in_flight == 2)  # two chats at once, both unanswered
    held = receiver.texts()
    assert len(held) == 2
    releases[int(held[0][1])].set()
    await receiver.wait_for(lambda: len(receiver.received) == 3)  # the third got the freed connection
    for release in releases:
        release.set()
    for update_id in ids:
        await telegram.delivered(update_id)
    assert receiver.max_in_flight == 2
    assert sorted(receiver.texts()) == ["c0", "c1", "c2"]


async def test_default_max_connections_is_forty(telegram, bot, receiver):
    await bot.set_webhook(receiver.url)
    assert telegram.webhook is not None and telegram.webhook.max_connections == 40
    assert (await bot.get_webhook_info()).max_connections == 40


# ---- re-sending -------------------------------------------------------------------------------------------------

async def test_re_sent_after_a_500(telegram, bot, receiver):
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    receiver.script("boom", 500)
    update_id = await send(telegram, 40, "boom")
    await telegram.delivered(update_id)
    attempts = telegram.deliveries_of(update_id)
    assert [(d.attempt, d.status) for d in attempts] == [(1, 500), (2, 200)]
    assert attempts[0].error == "Wrong response from the webhook: 500 Internal Server Error" and not attempts[0].ok
    assert [r.update for r in receiver.received] == [receiver.received[0].update] * 2  # the same update again
    assert all(r.headers[SECRET_HEADER] == SECRET for r in receiver.received)
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None and info.pending_update_count == 0


async def test_re_sent_after_a_timeout(telegram, bot, receiver):
    telegram.webhook_timeout = 0.2
    await bot.set_webhook(receiver.url)
    receiver.script("slow", "hang")
    update_id = await send(telegram, 41, "slow")
    await telegram.delivered(update_id)
    attempts = telegram.deliveries_of(update_id)
    assert [(d.status, d.error) for d in attempts] == [(None, "Read timeout expired"), (200, None)]
    assert attempts[0].elapsed >= 0.2
    assert (await bot.get_webhook_info()).last_error_message == "Read timeout expired"


async def test_re_sent_after_a_dropped_connection(telegram, bot, receiver):
    await bot.set_webhook(receiver.url)
    receiver.script("cut", "drop")
    update_id = await send(telegram, 42, "cut")
    await telegram.delivered(update_id)
    attempts = telegram.deliveries_of(update_id)
    assert [d.status for d in attempts] == [None, 200]
    assert attempts[0].error is not None and attempts[0].error.startswith("Connection reset by peer")
    assert receiver.texts() == ["cut", "cut"]


async def test_re_sent_while_nothing_listens_then_delivered(telegram, bot, receiver):
    await bot.set_webhook("http://127.0.0.1:1/hook")  # nothing listens on port 1
    update_id = await send(telegram, 43, "knock")
    await telegram.wait_for(lambda: len(telegram.deliveries_of(update_id)) >= 2)
    assert {d.error for d in telegram.deliveries_of(update_id)} == {"Connection refused"}
    await bot.set_webhook(receiver.url)  # the pending update goes to the new address
    await telegram.delivered(update_id)
    assert receiver.texts() == ["knock"]


async def test_a_chat_waits_behind_its_failing_update(telegram, bot, receiver):
    await bot.set_webhook(receiver.url)
    receiver.script("x1", 502, 503)
    x1 = await send(telegram, 44, "x1")
    x2 = await send(telegram, 44, "x2")
    await telegram.delivered(x2)
    assert receiver.texts() == ["x1", "x1", "x1", "x2"]
    assert [d.update_id for d in telegram.deliveries if d.ok] == [x1, x2]


async def test_stop_and_start_resume_delivery(telegram, bot, receiver):
    await bot.set_webhook(receiver.url)
    receiver.script("across", "hang")
    update_id = await send(telegram, 45, "across")
    await receiver.wait_for(lambda: receiver.texts() == ["across"])
    await telegram.stop()  # the attempt in flight is abandoned; the update stays pending
    assert [d.error for d in telegram.deliveries_of(update_id)][0].startswith("cancelled")
    assert [u["update_id"] for u in telegram.updates] == [update_id]
    await telegram.start()
    await telegram.delivered(update_id)
    assert receiver.texts() == ["across", "across"]


# ---- polling and the webhook --------------------------------------------------------------------------------------

async def test_get_updates_is_a_conflict_while_a_webhook_is_set(telegram, bot, receiver):
    async with aiohttp.ClientSession() as session:
        url = f"{telegram.base_url}/bot{TOKEN}/getUpdates"
        long_poll = asyncio.create_task(session.get(url, params={"timeout": "30"}))
        await telegram.wait_for(lambda: telegram.polls_started == 1)
        await bot.set_webhook(receiver.url)
        response = await asyncio.wait_for(long_poll, WAIT)
        assert response.status == 409
        assert (await response.json())["description"] == "Conflict: terminated by setWebhook request"
    with pytest.raises(TelegramConflictError) as caught:
        await bot.get_updates()
    assert caught.value.message == ("Conflict: can't use getUpdates method while webhook is active; use "
                                    "deleteWebhook to delete the webhook first")
    assert telegram.calls_of("getUpdates")[-1].status == 409


async def test_delete_webhook_returns_to_polling_with_pending_updates_kept(telegram, bot, receiver):
    await bot.set_webhook(receiver.url)
    receiver.script("stuck", 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
    update_id = await send(telegram, 50, "stuck")
    await telegram.wait_for(lambda: len(telegram.deliveries_of(update_id)) >= 2)
    later = await send(telegram, 50, "later")  # waits behind "stuck"
    assert await bot.delete_webhook()  # drop_pending_updates not asked: nothing is lost
    assert (await bot.get_webhook_info()).pending_update_count == 2
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [update_id, later]
    assert [u.message.text for u in updates if u.message] == ["stuck", "later"]
    assert not any(d.ok for d in telegram.deliveries)
    await bot.get_updates(offset=later + 1, timeout=0)  # confirmed, as polling does
    assert telegram.updates == []


async def test_delete_webhook_can_drop_pending_updates(telegram, bot):
    await bot.set_webhook("http://127.0.0.1:1/hook")
    await send(telegram, 51, "gone")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert telegram.updates == [] and await bot.get_updates(timeout=0) == []


# ---- an aiogram webhook endpoint --------------------------------------------------------------------------------

async def test_aiogram_webhook_handler_with_secret_and_a_reply_in_the_answer(telegram, bot):
    """aiogram's own SimpleRequestHandler: a wrong secret is refused (401, re-sent); with the right one the
    handler's returned method comes back in the answer's body and the double executes it like Telegram."""
    router = Router()

    @router.message()
    async def echo(message: Message):
        return message.answer(f"echo: {message.text}")  # a method to run, not awaited: the webhook reply

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=SECRET).register(app, "/tg")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
    try:
        await bot.set_webhook(url, secret_token="wrong-secret")
        user = telegram.user(60)
        await user.send("hi there")
        update_id = telegram.last_update_id
        await telegram.wait_for(lambda: len(telegram.deliveries_of(update_id)) >= 1)
        assert telegram.deliveries_of(update_id)[0].status == 401

        await bot.set_webhook(url, secret_token=SECRET)
        await telegram.delivered(update_id)
        reply = await user.wait_message("echo: hi there")
        assert reply.text == "echo: hi there"
        [sent] = telegram.calls_of("sendMessage")
        assert sent.webhook_reply and sent.ok and sent.params["chat_id"] == 60
    finally:
        await runner.cleanup()
