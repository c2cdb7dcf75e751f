"""The benchmark's payment flows as a CI test: 20 users at once against `python -m bot` (bench/compare.py's
payment_flows, a BotChild) on SQLite and on PostgreSQL. No timing is asserted, only what must hold under any load:
everyone paid, nobody read an error, and no provider call was made twice."""

from __future__ import annotations

from pathlib import Path

from bench.compare import payment_flows
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.telegram import TelegramDouble
from tests.conftest import AUDIT

USERS = 20


async def test_twenty_concurrent_payment_flows(database_url: str, telegram: TelegramDouble, paylov: PaylovSandbox,
                                               tmp_path: Path) -> None:
    workdir = tmp_path / "child"
    try:
        # At DEBUG, as the kill tests' children: what the child prints joins the log the card-data audit scans
        # (tests/zz_audit); the database_url fixture has registered the database with it already.
        result = await payment_flows(USERS, database_url, telegram=telegram, paylov=paylov, workdir=workdir,
                                     patience=120.0, LOG_LEVEL="DEBUG")
    finally:
        log = workdir / "bot.log"
        if log.exists():
            with AUDIT.log_file.open("a", encoding="utf-8") as audit:
                audit.write(log.read_text(encoding="utf-8", errors="replace"))

    assert not result.failed, f"{len(result.failed)} flows did not finish; the first:\n{result.failed[0]}"
    assert result.paid == USERS  # every user got a receipt
    assert result.errors == 0
    assert (result.duplicate_pays, result.duplicate_creates) == (0, 0)
    assert result.calls == {"info": USERS, "create": USERS, "pay": USERS}  # 3 servicePayment calls per payment
