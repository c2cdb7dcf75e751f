"""The webhook bench (bench/webhook.py) as a CI smoke test: a tiny run, 1 and 2 replicas of this bot and of the echo
floor on PostgreSQL and Redis. No timing is asserted, only what must hold under any load: every update answered
2xx, every user answered, nobody told an error, and both of this bot's replicas did work."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.webhook import Plan, run
from tests.conftest import AUDIT

USERS = 20  # the second replica's share of a burst is random: with 20, all on one is a 1-in-500,000 chance


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_webhook_bench_runs_clean(database_url: str, redis_url: str, tmp_path: Path) -> None:
    try:
        # At DEBUG: what the replicas print joins the log the card-data audit scans (tests/zz_audit).
        outcome = await run(Plan(users=USERS, rounds=1), database_url=database_url, redis_url=redis_url,
                            workdir=tmp_path, LOG_LEVEL="DEBUG")
    finally:
        for log in sorted(tmp_path.glob("bot-*/bot.log")):
            with AUDIT.log_file.open("a", encoding="utf-8") as audit:
                audit.write(log.read_text(encoding="utf-8", errors="replace"))

    # run() waits for every user's reply in every burst: that it returned is the "every user answered" part
    measures = {row.measure: row for row in outcome.table}
    assert measures["users told an error"].bot == 0
    for side in (outcome.floor, outcome.bot):
        telegram = side.telegram
        assert len(side.replicas) == 2
        assert telegram.updates == []  # nothing left undelivered
        assert all(any(d.ok for d in telegram.deliveries_of(update_id)) for update_id in telegram.created_updates)
    bot_logs = [log.read_text(encoding="utf-8", errors="replace") for log in sorted(tmp_path.glob("bot-*/bot.log"))]
    assert len(bot_logs) == 2 and all("update id=" in log for log in bot_logs)  # the second replica got work too
