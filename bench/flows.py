"""N people at once, each through the whole flow: onboard, add a card, pay a bill. Counts what went wrong.

    .venv/bin/python -m bench.flows [N] [--database sqlite|postgresql]

Measures, does not judge: how many flows finished with a receipt, how many users read "something went wrong",
how many log records say "database is locked", the wall time and the provider calls per payment.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.sandbox import paylov_catalogue as paylov_data
from bot.sandbox.harness import BotProcess
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.postgres import PostgresServer
from bot.sandbox.scenarios import add_card, pay_text_service, registered
from bot.sandbox.telegram import TelegramDouble
from bot.settings import load_settings

ERROR_TEXT = "something went wrong"
PAY_PATHS = ("servicePayment/info/", "servicePayment/create/", "servicePayment/pay/")


class Locked(logging.Handler):
    """Every log record, at any level, that mentions a locked database."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage() + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        self.count += "database is locked" in text


async def run(count: int, database: str) -> dict[str, object]:
    locked = Locked()
    logging.getLogger().addHandler(locked)
    postgres = None
    if database == "postgresql":
        postgres = PostgresServer().start()
        postgres.psql("CREATE DATABASE bench")
        url = postgres.url("bench")
    else:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='paybot-bench-')) / 'bench.db'}"
    paylov, telegram = PaylovSandbox(), TelegramDouble()
    await paylov.start()
    paylov.add_merchant_card()
    await telegram.start()
    process = await BotProcess(load_settings(
        BOT_TOKEN="1:bench", TELEGRAM_API_URL=telegram.base_url, PROVIDERS="live",
        PAYLOV_BASE_URL=paylov.base_url, PAYLOV_USERNAME=PaylovSandbox.USERNAME,
        PAYLOV_PASSWORD=PaylovSandbox.PASSWORD, PAYLOV_CONSUMER_KEY=PaylovSandbox.CONSUMER_KEY,
        PAYLOV_CONSUMER_SECRET=PaylovSandbox.CONSUMER_SECRET, PAYLOV_SETTLEMENT_CARD_ID=paylov_data.SETTLEMENT_CARD_ID,
        DATABASE_URL=url, ALLOW_TEST_CARDS=True,
    )).start()
    outcomes: list[object] = []
    try:
        async def flow(user_id: int) -> None:
            telegram.user(user_id).patience = 300.0
            user = await registered(telegram, user_id)
            await add_card(user)
            await pay_text_service(user)

        started = time.monotonic()
        outcomes = await asyncio.gather(*(flow(10_000 + n) for n in range(count)), return_exceptions=True)
        wall = time.monotonic() - started
        calls = Counter(entry.path.strip("/") + "/" for entry in paylov.ledger)
    finally:
        await process.stop()
        await telegram.stop()
        await paylov.stop()
        if postgres is not None:
            postgres.stop()
        logging.getLogger().removeHandler(locked)

    users = list(telegram.users.values())
    paid = sum(any("✅ Paid" in m.text for m in u.bot_messages) for u in users)
    told_error = sum(any(ERROR_TEXT in m.text for m in u.bot_messages) for u in users)
    per_payment = sum(n for path, n in calls.items() if path.endswith(PAY_PATHS)) / max(paid, 1)
    return {"database": database, "flows": count, "paid": paid, "failed flows": sum(
        isinstance(o, BaseException) for o in outcomes), "told 'something went wrong'": told_error,
            "'database is locked' log records": locked.count, "wall time, s": round(wall, 1),
            "info+create+pay calls per payment": round(per_payment, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flows")
    parser.add_argument("count", nargs="?", type=int, default=100)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    report = asyncio.run(run(args.count, args.database))
    print(f"{args.count} concurrent flows (onboard, add a card, pay a bill) on {args.database}:")
    for name, value in report.items():
        print(f"  {name}: {value}")


if __name__ == "__main__":
    main()
