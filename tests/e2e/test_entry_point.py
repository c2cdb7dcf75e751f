"""`python -m bot` itself: long polling against a Bot API server, sandbox providers in-process, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot.sandbox.telegram import TelegramDouble


async def test_python_m_bot_serves_users_with_sandbox_money(tmp_path):
    async with TelegramDouble() as telegram:
        env = {**os.environ, "BOT_TOKEN": "777:entry-point-test-token", "TELEGRAM_API_URL": telegram.base_url,
               "PROVIDERS": "sandbox", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
               "LOG_LEVEL": "INFO"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        try:
            user = telegram.user(4242)
            await user.send("/start")
            await user.wait_message("Choose your language", timeout=60)
            await user.press("🇬🇧 English ✓")
            await user.tap("📱 Share my phone number")
            await user.wait_message("You're all set")
            await user.send("elektr")  # the in-process Paylov sandbox answers the search
            found = await user.wait_message("Found for")
            assert "Плата за электроэнергию" in found.labels
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = await asyncio.wait_for(process.communicate(), 30)
        log = output.decode()
        assert process.returncode == 0, log
        assert "update id=" in log and "handler=handlers.start.start" in log  # one structured line per update
        assert "777:entry-point-test-token" not in log  # the token never reaches the log
