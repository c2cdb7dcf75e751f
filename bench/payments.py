"""Run N sandbox payments end to end and print provider calls per payment (warm cache) and handler times.

    .venv/bin/python -m bench.payments [N]

Measures, does not judge: the target is 3 provider calls per payment (info, create, pay) once the catalogue and
the service's form are cached, and a median handler time well under the provider's own latency.
"""

from __future__ import annotations

import asyncio
import logging
import re
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bot.sandbox.harness import BotProcess
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.scenarios import add_card, pay_text_service, registered
from bot.sandbox.telegram import TelegramDouble
from bot.settings import load_settings

DURATION = re.compile(r"duration_ms=([\d.]+)")


class Durations(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.values: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = DURATION.search(record.getMessage())
        if match:
            self.values.append(float(match.group(1)))


async def main(count: int) -> None:
    durations = Durations()
    updates_log = logging.getLogger("bot.updates")
    updates_log.addHandler(durations)
    updates_log.setLevel(logging.INFO)

    paylov, telegram = PaylovSandbox(), TelegramDouble()
    await paylov.start()
    await telegram.start()
    database = Path(tempfile.mkdtemp(prefix="paybot-bench-")) / "bench.db"
    process = await BotProcess(load_settings(
        BOT_TOKEN="1:bench", TELEGRAM_API_URL=telegram.base_url, PROVIDERS="live",
        PAYLOV_BASE_URL=paylov.base_url, PAYLOV_USERNAME=PaylovSandbox.USERNAME,
        PAYLOV_PASSWORD=PaylovSandbox.PASSWORD, PAYLOV_CONSUMER_KEY=PaylovSandbox.CONSUMER_KEY,
        PAYLOV_CONSUMER_SECRET=PaylovSandbox.CONSUMER_SECRET, DATABASE_URL=f"sqlite+aiosqlite:///{database}",
    )).start()
    try:
        user = await registered(telegram, 9001)
        await add_card(user)
        await pay_text_service(user)  # warms the catalogue and form caches
        durations.values.clear()
        before = len(paylov.ledger)
        for _ in range(count):
            await pay_text_service(user)
        calls = Counter(entry.path for entry in paylov.ledger[before:])
    finally:
        await process.stop()
        await telegram.stop()
        await paylov.stop()

    print_report("payments", count, calls, durations, target=3)


def print_report(what: str, count: int, calls: Counter, durations: Durations, *, target: int) -> None:
    print(f"{what}: {count}")
    print(f"provider calls per payment (warm cache): {sum(calls.values()) / count:.2f}  (target {target})")
    for name, n in sorted(calls.items()):
        print(f"  {name}: {n / count:.2f}")
    print(f"updates handled: {len(durations.values)}")
    print(f"median handler time per update: {statistics.median(durations.values):.1f} ms")
    print(f"p95 handler time per update: {statistics.quantiles(durations.values, n=20)[-1]:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
