"""A graceful stop of the polling bot finishes the updates in hand: aiogram closes the Bot's session right after the
shutdown hooks, not after its update tasks, so a handler still at work used to lose its next request (the user read
"something went wrong", or nothing)."""

from __future__ import annotations

import asyncio
import logging

from bot.sandbox.scenarios import registered


class Said(logging.Handler):
    def __init__(self, words: str) -> None:
        super().__init__(logging.INFO)
        self.words = words
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.seen.set()


async def test_an_update_in_hand_at_a_graceful_stop_still_answers(app, telegram):
    user = await registered(telegram, 1801)
    stopping_log = Said("updates in hand to finish")
    logging.getLogger("bot.app").addHandler(stopping_log)
    try:
        held = telegram.hold_next("sendMessage")  # the answer to /help waits at Telegram
        await user.send("/help")
        await held.reached()
        stopping = asyncio.create_task(app.stop())
        waiting = asyncio.create_task(stopping_log.seen.wait())  # polling has stopped; the shutdown waits for /help
        await asyncio.wait({stopping, waiting}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        held.release()  # Telegram answers now: the handler goes on, unless its session was closed under it
        await stopping
    finally:
        logging.getLogger("bot.app").removeHandler(stopping_log)
    assert "I help you pay" in user.last.text
    assert not [m for m in user.bot_messages if "something went wrong" in m.text]
