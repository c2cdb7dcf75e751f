"""Webhook mode: Telegram posts each update to WEBHOOK_URL; one aiohttp application serves it, the card page and
/healthz on WEBHOOK_HOST:WEBHOOK_PORT (reuse_port: several replicas may listen on one port).

Each post is handled before it is answered (aiogram's `handle_in_background=False`), through the update inbox
(bot.services.inbox), so that an update is neither lost nor run twice:

- a wrong or missing secret: 401, logged without the value;
- an update handled already: 200 without running it; one a live process holds: 503 (Telegram re-sends it later);
- ours: handled within UPDATE_DEADLINE, then marked done and answered 200. Past the deadline the handler is
  stopped as a killed process would be, and the money engine settles what it had started (the user hears of it from
  the outbox); the update is done.
- the database or Redis lost while handling it (the error handler leaves those to us in this mode): the claim is
  released and the answer is 500, so Telegram's re-send runs it again once they are back;
- stopping (SIGTERM): /healthz says not ready, new posts get 503, the updates in hand finish, then the process ends.

Replicas never call setWebhook or deleteWebhook (`python -m bot set-webhook` is a deploy step), and never migrate:
a process refuses to start on an older schema (bot.runtime.startup).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from sqlalchemy import text

from bot.app import (
    Services,
    build_bot,
    build_dispatcher,
    make_webapp,
    open_services,
    process_owner,
    serves_card_page,
)
from bot.runtime.heap import freeze_startup_heap
from bot.runtime.logs import setup_logging
from bot.services.inbox import Outcome, UpdateInbox
from bot.settings import Settings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
HEALTH_TIMEOUT = 3.0  # seconds each dependency has to answer /healthz
RETRY_LATER = {"Retry-After": "5"}
MAX_UPDATE = 1024 * 1024  # bytes of a post: an update with the longest text and its entities is far below


def webhook_path(settings: Settings) -> str:
    return urlsplit(settings.WEBHOOK_URL or "").path or "/"


class Gate:
    """Whether posts are taken (not once stopping has begun), and how many are in hand."""

    def __init__(self) -> None:
        self.closing = False
        self._in_hand = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._in_hand += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_hand -= 1
            if self._in_hand == 0:
                self._idle.set()

    async def drained(self) -> None:
        await self._idle.wait()


class InboxRequestHandler(SimpleRequestHandler):
    """aiogram's request handler, answering only once the update is handled, through the inbox."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, *, secret: str, inbox: UpdateInbox, deadline: float,
                 gate: Gate, **data: Any) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret, **data)
        self.inbox = inbox
        self.deadline = deadline
        self.gate = gate

    async def close(self) -> None:
        """The Bot's session is closed by run_webhook, after the dispatcher's shutdown hooks have used it."""

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if not self.verify_secret(given or "", self.bot) or not given:
            logger.warning("webhook post refused: %s secret", "a wrong" if given else "no")
            return web.Response(status=401, text="Unauthorized")
        if self.gate.closing:
            return web.Response(status=503, text="stopping", headers=RETRY_LATER)
        with self.gate.held():
            return await self._handle_request(self.bot, request)

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            raw = await request.json(loads=bot.session.json_loads)
            update_id = int(raw["update_id"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="not an update")
        try:
            claim = await self.inbox.claim(update_id)
        except Exception as error:  # noqa: BLE001 - the database is gone: Telegram re-sends it later
            logger.error("update %s not taken: the inbox is unreachable (%s)", update_id, type(error).__name__)
            return web.Response(status=500, text="try again")
        if claim.outcome is Outcome.DONE:
            return web.json_response({})
        if claim.outcome is Outcome.BUSY:
            return web.Response(status=503, text="being handled", headers=RETRY_LATER)
        try:
            async with asyncio.timeout(self.deadline):
                result = await self.dispatcher.feed_raw_update(bot, raw, **self.data)
                if isinstance(result, TelegramMethod):
                    await self.dispatcher.silent_call_request(bot, result)
        except TimeoutError:
            logger.warning("update %s stopped at its deadline (%g s); what it started is settled by the money "
                           "engine", update_id, self.deadline)
        except Exception as error:  # noqa: BLE001 - an outage the error handler left to us
            logger.error("update %s failed (%s): released for Telegram's re-send", update_id, type(error).__name__)
            with contextlib.suppress(Exception):
                await self.inbox.release(claim)
            return web.Response(status=500, text="try again")
        try:
            await self.inbox.finish(claim)
        except Exception as error:  # noqa: BLE001 - handled: a re-send must not run it again, so 200 all the same
            logger.error("update %s handled but not marked done (%s)", update_id, type(error).__name__)
        return web.json_response({})


class Health:
    """/healthz: 200 when this process takes updates and its database (and Redis, when set) answer; else 503."""

    def __init__(self, services: Services, gate: Gate) -> None:
        self.services = services
        self.gate = gate

    async def handle(self, request: web.Request) -> web.Response:
        if self.gate.closing:
            return web.json_response({"ok": False, "reason": "stopping"}, status=503)
        for name, check in (("database", self._database), ("redis", self._redis)):
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT):
                    await check()
            except Exception as error:  # noqa: BLE001 - whatever it is, the process is not ready
                logger.warning("/healthz: %s unavailable (%s)", name, type(error).__name__)
                return web.json_response({"ok": False, "reason": f"{name} unavailable"}, status=503)
        return web.json_response({"ok": True})

    async def _database(self) -> None:
        async with self.services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def _redis(self) -> None:
        url = self.services.settings.REDIS_URL
        if not url:
            return
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_connect_timeout=HEALTH_TIMEOUT, socket_timeout=HEALTH_TIMEOUT)
        try:
            await client.ping()
        finally:
            await client.aclose()


def build_application(services: Services, bot: Bot, dispatcher: Dispatcher, gate: Gate,
                      inbox: UpdateInbox) -> web.Application:
    settings = services.settings
    app = web.Application(client_max_size=MAX_UPDATE)
    handler = InboxRequestHandler(dispatcher, bot, secret=settings.WEBHOOK_SECRET.get_secret_value(), inbox=inbox,
                                  deadline=settings.UPDATE_DEADLINE, gate=gate)
    handler.register(app, path=webhook_path(settings))
    app.router.add_get(HEALTH_PATH, Health(services, gate).handle)
    if serves_card_page(settings, services):
        server = make_webapp(bot, dispatcher, services)
        origin = urlsplit(settings.WEBHOOK_URL)
        server.url = (settings.WEBAPP_URL or f"{origin.scheme}://{origin.netloc}").rstrip("/")
        app.router.add_routes(server.routes())
    setup_application(app, dispatcher, bot=bot)
    return app


class WebhookServer:
    """The bot in webhook mode: services, Dispatcher and the aiohttp application on WEBHOOK_HOST:WEBHOOK_PORT.
    `python -m bot` runs one until SIGTERM (run_webhook); tests run it in their own process too."""

    def __init__(self, settings: Settings, *, today: Callable[[], date] | None = None) -> None:
        self.settings = settings
        self.today = today
        self.gate = Gate()
        self.services: Services | None = None
        self.dispatcher: Dispatcher | None = None
        self.inbox: UpdateInbox | None = None
        self.url = ""  # where it listens, http://host:port
        self._stack: contextlib.AsyncExitStack | None = None

    async def start(self) -> str:
        """Listens with SO_REUSEPORT, always: N replicas on one host bind the same port (the one address the proxy
        or Telegram posts to), the kernel spreads new connections among them, and a restarted replica binds while
        the others serve. Linux only: that is where SO_REUSEPORT balances (BSD and macOS let a port be shared but
        do not spread connections; Windows has no such option and aiohttp refuses to start)."""
        self._stack = contextlib.AsyncExitStack()
        try:
            services = await self._stack.enter_async_context(open_services(self.settings, today=self.today,
                                                                           migrate=False))
            self.services = services
            bot = build_bot(services.settings)
            self._stack.push_async_callback(bot.session.close)
            self.dispatcher = build_dispatcher(services.settings, services)
            self.inbox = UpdateInbox(services.sessionmaker, process_owner(),
                                     timedelta(seconds=services.settings.inbox_lease))
            self.dispatcher["inbox"] = self.inbox  # the purge job's
            runner = web.AppRunner(build_application(services, bot, self.dispatcher, self.gate, self.inbox),
                                   access_log=None, handle_signals=False)
            await runner.setup()
            self._stack.push_async_callback(runner.cleanup)  # the dispatcher's shutdown hooks: the jobs stop
            settings = services.settings
            site = web.TCPSite(runner, settings.WEBHOOK_HOST, settings.WEBHOOK_PORT, reuse_port=True)
            await site.start()
        except BaseException:
            await self._stack.aclose()
            raise
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        logger.info("serving webhooks at %s on %s", webhook_path(settings), self.url)
        return self.url

    async def stop(self) -> None:
        """Graceful: new posts get 503 and /healthz says not ready while the updates in hand finish."""
        if self._stack is None:
            return
        logger.info("stopping: new updates are answered 503 while the ones in hand finish")
        self.gate.closing = True
        await self.gate.drained()
        await self._stack.aclose()
        self._stack = None


async def run_webhook(settings: Settings) -> None:
    """Serves until SIGTERM or SIGINT; then drains and ends."""
    setup_logging(settings.LOG_LEVEL)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = WebhookServer(settings)
    await server.start()
    freeze_startup_heap()
    try:
        await stop.wait()
    finally:
        await server.stop()
