"""A database busy at the worst moment: Paylov has charged the card and the bot cannot write it down, because another
connection holds SQLite's write lock past the busy timeout. The user must still get the receipt with its payment
reference, never "trouble on our side" for a payment that went through, and Paylov is asked to pay once."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, hot_water_to_code, registered
from bot.storage import db
from tests.e2e.ledger_rows import events_of, payments_of

TROUBLE = "trouble on our side"


class Retried(logging.Handler):
    """Set once the ledger says it will try the recording again."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "bot.money.ledger" and "recording failed" in record.getMessage():
            self.seen.set()


@pytest.fixture
def sqlite_only(database_url: str) -> Path:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL's dropped connection is the same retry")
    return Path(database_url.split("///", 1)[1])


async def test_a_charge_recorded_while_sqlite_is_locked_ends_in_the_receipt(sqlite_only, make_settings, telegram,
                                                                            paylov, monkeypatch):
    monkeypatch.setitem(db.SQLITE_PRAGMAS, "busy_timeout", "100")  # the lock outlasts it at once
    process = await BotProcess(make_settings()).start()
    retried = Retried()
    logging.getLogger("bot.money.ledger").addHandler(retried)
    locker = sqlite3.connect(sqlite_only, isolation_level=None)
    try:
        user = await registered(telegram, 1151)
        await add_card(user)
        await hot_water_to_code(user)
        hold = paylov.hold_next("servicePayment/pay/", apply=True)  # charged; the answer waits
        await user.send("666666")
        await hold.reached()
        locker.execute("BEGIN IMMEDIATE")  # another writer takes the lock before the bot can record the charge
        hold.release()
        # The lock is let go once the bot has either said it will try again or told the user something.
        told = asyncio.create_task(user.wait_for(lambda: TROUBLE in user.last.text or "✅ Paid" in user.last.text,
                                                 timeout=30))
        waiting = asyncio.create_task(retried.seen.wait())
        await asyncio.wait({told, waiting}, return_when=asyncio.FIRST_COMPLETED)
        locker.execute("ROLLBACK")
        waiting.cancel()
        await asyncio.gather(told, return_exceptions=True)

        assert not [m for m in user.bot_messages if TROUBLE in m.text]
        receipt = await user.wait_message("✅ Paid")
        [pay] = paylov.calls("servicePayment/pay/")
        assert pay.response["result"]["paymentRef"] in receipt.text
        assert not [m for m in user.bot_messages if TROUBLE in m.text]
        [payment] = await payments_of(process, 1151)
        assert payment.state == "paid"
        assert ("paying", "paid") in await events_of(process, payment.id)
    finally:
        locker.close()
        logging.getLogger("bot.money.ledger").removeHandler(retried)
        await process.stop()
