"""The floor: a bare aiogram 3 bot that answers every text message with the same text, by long polling.

    BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT .venv/bin/python -m bench.echo_bot

No database, no middlewares, no settings: what aiogram, aiohttp and one `sendMessage` per update cost on this
machine. bench/compare.py runs it beside this bot, each against its own Telegram double, so the bot's numbers can
be read as "so many times the floor" instead of as bare milliseconds that depend on the machine.
"""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

router = Router(name="echo")


@router.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    await dispatcher.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
