"""What several end-to-end modules share: the operator's chat and a Bot of the app's own settings (the daily
report's tests)."""

from __future__ import annotations

import pytest

from bot.app import build_bot

OPERATOR = 7070


@pytest.fixture
async def operator(app, telegram):
    """The operator's chat: Telegram lets the bot write only to someone who wrote to it first."""
    user = telegram.user(OPERATOR)
    await user.send("/start")
    await user.wait_message("Choose your language")
    return user


@pytest.fixture
async def bot(app):
    bot = build_bot(app.services.settings)
    yield bot
    await bot.session.close()
