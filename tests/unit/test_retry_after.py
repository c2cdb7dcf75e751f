"""Telegram's 429 waited out (bot/middlewares/retry_after.py), through the Bot the production wiring builds
(bot.app.build_bot) talking HTTP to the Telegram double. The wait is the only thing replaced: a sleep that records the
seconds it was asked for and returns at once, so no test waits. Each test asserts what Telegram was sent (the double's
call ledger), what the user's chat shows, and what reached the caller."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from bot.app import build_bot
from bot.middlewares.retry_after import MAX_WAIT, TRIES
from bot.sandbox.child import BOT_TOKEN
from bot.sandbox.telegram import FakeUser, TelegramDouble
from bot.settings import load_settings

BANNER = "🧪 TEST MODE — no real money"
TEXT = "Your bill: <b>plain-secret-text-31</b>"
SHOWN = "Your bill: plain-secret-text-31"


class Waits:
    """The sleep handed to the Bot: records each wait and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
async def bot(telegram: TelegramDouble, waits: Waits) -> AsyncIterator[Bot]:
    # TEST_MODE_BANNER=always: the test-mode line is on, so a retried message shows whether it went through the
    # banner once per try (the retry is the outermost middleware) and never twice.
    settings = load_settings(BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=telegram.base_url, PROVIDERS="sandbox",
                             TEST_MODE_BANNER="always")
    bot = build_bot(settings, retry_sleep=waits)
    yield bot
    await bot.session.close()


@pytest.fixture
async def user(telegram: TelegramDouble) -> FakeUser:
    person = telegram.user(5101)
    await person.send("/start")  # Telegram lets a bot write only to users who wrote to it first
    return person


def ledger(telegram: TelegramDouble, method: str = "sendMessage") -> list[tuple[int, str | None]]:
    return [(call.status, call.fault) for call in telegram.calls_of(method)]


async def test_one_429_is_waited_out_and_the_message_arrives_once(telegram, bot, user, waits, caplog):
    telegram.fail_next("sendMessage", "429", retry_after=7)
    with caplog.at_level(logging.WARNING, logger="bot.middlewares.retry_after"):
        sent = await bot.send_message(user.user_id, TEXT)

    assert ledger(telegram) == [(429, "429"), (200, None)]  # the same request, sent again after the wait
    assert waits.seconds == [7]  # exactly what Telegram asked for
    assert [m.text for m in user.bot_messages] == [f"{BANNER}\n{SHOWN}"]  # once, the test-mode line once
    assert sent.message_id == user.bot_messages[0].message_id  # the caller got Telegram's answer, not an error
    [line] = [r for r in caplog.records if r.name == "bot.middlewares.retry_after"]
    assert line.levelno == logging.WARNING
    assert "sendMessage" in line.getMessage() and "7 s" in line.getMessage()
    assert "plain-secret-text-31" not in line.getMessage()  # the method and the seconds, never the text


async def test_any_method_is_retried_a_delete_too(telegram, bot, user, waits):
    message = await bot.send_message(user.user_id, TEXT)
    telegram.fail_next("deleteMessage", "429", retry_after=2)
    telegram.fail_next("deleteMessage", "429", retry_after=3)

    assert await bot.delete_message(user.user_id, message.message_id) is True

    assert ledger(telegram, "deleteMessage") == [(429, "429"), (429, "429"), (200, None)]
    assert waits.seconds == [2, 3]
    assert user.bot_messages == []  # gone from the chat


async def test_more_429s_than_the_bound_reach_the_caller(telegram, bot, user, waits):
    for _ in range(TRIES + 1):
        telegram.fail_next("sendMessage", "429", retry_after=2)

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(user.user_id, TEXT)

    assert caught.value.retry_after == 2  # Telegram's own error, as the caller got it before the middleware
    assert ledger(telegram) == [(429, "429")] * TRIES  # tried TRIES times, no more
    assert telegram.pending_faults("sendMessage") == ["429"]  # the next 429 was never asked for
    assert waits.seconds == [2] * (TRIES - 1)  # no wait after the last try
    assert user.bot_messages == []


async def test_a_retry_after_beyond_the_cap_is_raised_at_once(telegram, bot, user, waits):
    too_long = int(MAX_WAIT) + 1
    telegram.fail_next("sendMessage", "429", retry_after=too_long)

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(user.user_id, TEXT)

    assert caught.value.retry_after == too_long  # left to the caller (the outbox schedules it for later)
    assert waits.seconds == []  # nothing waited
    assert ledger(telegram) == [(429, "429")]  # and nothing sent again
    assert user.bot_messages == []


async def test_the_cap_counts_every_wait_of_one_request(telegram, bot, user, waits):
    first = int(MAX_WAIT) - 2
    telegram.fail_next("sendMessage", "429", retry_after=first)  # waited: within the cap
    telegram.fail_next("sendMessage", "429", retry_after=3)  # would take the total past the cap: raised

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(user.user_id, TEXT)

    assert caught.value.retry_after == 3
    assert waits.seconds == [first]
    assert ledger(telegram) == [(429, "429"), (429, "429")]
    assert user.bot_messages == []


async def test_each_request_has_its_own_tries(telegram, bot, user, waits):
    """A request that used up its tries does not shorten the next one's."""
    for _ in range(TRIES):
        telegram.fail_next("sendMessage", "429", retry_after=1)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(user.user_id, TEXT)
    telegram.fail_next("sendMessage", "429", retry_after=1)

    await bot.send_message(user.user_id, TEXT)

    assert ledger(telegram) == [(429, "429")] * (TRIES + 1) + [(200, None)]
    assert waits.seconds == [1] * TRIES
    assert [m.text for m in user.bot_messages] == [f"{BANNER}\n{SHOWN}"]


async def test_other_errors_are_not_retried(telegram, bot, user, waits):
    """Only a 429 says Telegram did nothing and will take it later; a 5xx goes to the caller as before."""
    telegram.fail_next("sendMessage", "502")

    with pytest.raises(Exception) as caught:
        await bot.send_message(user.user_id, TEXT)

    assert not isinstance(caught.value, TelegramRetryAfter)
    assert ledger(telegram) == [(502, "502")]
    assert waits.seconds == []
