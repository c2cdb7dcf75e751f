"""The terminal demo: sandbox providers, the Telegram double and the real bot, with a chat in this terminal."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from bot.runtime.logs import setup_logging
from bot.sandbox.harness import BotProcess
from bot.sandbox.telegram import TelegramDouble
from bot.sandbox.terminal import run_terminal
from bot.settings import load_settings

DEMO_TOKEN = "1000:demo-token-for-the-local-telegram-double"


async def run_demo(*, script: str | None, user_id: int, language_code: str) -> int:
    setup_logging(os.environ.get("LOG_LEVEL", "WARNING"))
    telegram = TelegramDouble(test_environment=True)  # the card page is served on http://127.0.0.1
    await telegram.start()
    settings = load_settings(
        BOT_TOKEN=DEMO_TOKEN,
        TELEGRAM_API_URL=telegram.base_url,
        PROVIDERS="sandbox",
        DATABASE_URL=os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./data/demo.db"),
        WEBAPP_PORT=int(os.environ.get("WEBAPP_PORT", "0")),  # the card page (CARD_VAULT=payme): any free port
    )
    process = BotProcess(settings)
    try:
        await process.start()
        user = telegram.user(user_id, language_code=language_code)

        def open_web_app(url: str) -> str:
            """What Telegram opens for a Mini App button: the page with this user's signed initData."""
            return f"{url}#tgWebAppData={quote(telegram.web_app_init_data(user_id, DEMO_TOKEN))}"

        if script is None and sys.stdin.isatty():
            print("Chat with the bot. Type text, a button's number, /contact to share your phone, /quit to leave.")
            print("Send /start to begin.\n")
            return await run_terminal(user, open_web_app=open_web_app)
        return await run_terminal(user, input_lines=_lines(script), echo=True, open_web_app=open_web_app)
    finally:
        await process.stop()
        await telegram.stop()


async def _lines(script: str | None) -> AsyncIterator[str]:
    """Steps from a file, or from piped standard input."""
    if script and script != "-":
        text = Path(script).read_text(encoding="utf-8")
    else:
        text = await asyncio.to_thread(sys.stdin.read)
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield line.strip()
