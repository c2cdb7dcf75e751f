"""Run N sandbox payments with a Payme card (the Payme rail) and print provider calls per payment and handler times.

    .venv/bin/python -m bench.payme_payments [N]

Measures, does not judge: with warm caches a payment should cost 6 provider calls — Paylov info, Payme cards.check
(the token is checked before each charge), receipts.create, receipts.pay, then Paylov create and pay for the bill.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.payments import Durations, print_report
from bot.sandbox import paylov_catalogue
from bot.sandbox.harness import BotProcess
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.payme import PaymeSandbox
from bot.sandbox.scenarios import add_payme_card, pay_with_payme_card, registered
from bot.sandbox.telegram import TelegramDouble
from bot.settings import load_settings

TOKEN = "1:bench"


async def main(count: int) -> None:
    durations = Durations()
    updates_log = logging.getLogger("bot.updates")
    updates_log.addHandler(durations)
    updates_log.setLevel(logging.INFO)

    paylov, payme, telegram = PaylovSandbox(), PaymeSandbox(), TelegramDouble(test_environment=True)
    for server in (paylov, payme, telegram):
        await server.start()
    paylov.add_merchant_card()
    database = Path(tempfile.mkdtemp(prefix="paybot-bench-")) / "bench.db"
    process = await BotProcess(load_settings(
        BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.base_url, PROVIDERS="live", CARD_VAULT="payme", WEBAPP_PORT=0,
        PAYLOV_BASE_URL=paylov.base_url, PAYLOV_USERNAME=PaylovSandbox.USERNAME,
        PAYLOV_PASSWORD=PaylovSandbox.PASSWORD, PAYLOV_CONSUMER_KEY=PaylovSandbox.CONSUMER_KEY,
        PAYLOV_CONSUMER_SECRET=PaylovSandbox.CONSUMER_SECRET, PAYME_BASE_URL=payme.base_url,
        PAYME_MERCHANT_ID=payme.merchant_id, PAYME_KEY=payme.key,
        PAYLOV_SETTLEMENT_CARD_ID=paylov_catalogue.SETTLEMENT_CARD_ID, DATABASE_URL=f"sqlite+aiosqlite:///{database}",
    )).start()
    try:
        user = await registered(telegram, 9002)
        await add_payme_card(telegram, user, TOKEN)
        await pay_with_payme_card(user)  # warms the catalogue and form caches
        durations.values.clear()
        paylov_before, payme_before = len(paylov.ledger), len(payme.ledger)
        for _ in range(count):
            await pay_with_payme_card(user)
        calls = Counter(f"paylov {entry.path}" for entry in paylov.ledger[paylov_before:])
        calls.update(f"payme {entry.method}" for entry in payme.ledger[payme_before:])
    finally:
        await process.stop()
        for server in (telegram, payme, paylov):
            await server.stop()

    print_report("Payme-card payments", count, calls, durations, target=6)

if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
