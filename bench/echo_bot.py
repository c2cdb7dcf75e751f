"""The floor: a bare aiogram 3 bot that answers every text message with the same text, by long polling or, with
WEBHOOK_PORT set, as a webhook server.

    BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT .venv/bin/python -m bench.echo_bot
    ... WEBHOOK_PORT=8081 WEBHOOK_SECRET=... .venv/bin/python -m bench.echo_bot   (serves POST /echo on 127.0.0.1)

No database, no middlewares, no settings: what aiogram, aiohttp and one `sendMessage` per update cost on this
machine. bench/compare.py runs it beside this bot, each against its own Telegram double, so the bot's numbers can
be read as "so many times the floor" instead of as bare milliseconds that depend on the machine. bench/webhook.py
runs one or two of it on one port (SO_REUSEPORT), as this bot's webhook replicas do.
"""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

router = Router(name="echo")
WEBHOOK_PATH = "/echo"


@router.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


def build() -> tuple[Bot, Dispatcher]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return bot, dispatcher


async def main() -> None:
    bot, dispatcher = build()
    await dispatcher.start_polling(bot)


def serve_webhook(port: int) -> None:
    """aiogram's own webhook handler. It answers after the handler (handle_in_background=False), as this bot's
    replicas do, so both keep Telegram's connection for the same work; the port is shared (reuse_port)."""
    bot, dispatcher = build()
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False,
                         secret_token=os.environ.get("WEBHOOK_SECRET")).register(app, path=WEBHOOK_PATH)
    setup_application(app, dispatcher, bot=bot)
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, access_log=None, print=None)


if __name__ == "__main__":
    if os.environ.get("WEBHOOK_PORT"):
        serve_webhook(int(os.environ["WEBHOOK_PORT"]))
    else:
        asyncio.run(main())
