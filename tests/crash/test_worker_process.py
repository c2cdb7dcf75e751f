"""`python -m bot worker` beside the bot: a second process that runs only the background jobs on the same
database. Both workers find the same due rows at the same moment; each bill is paid once and each user told once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from bot.sandbox.harness import BotProcess
from bot.storage.models import Payment
from tests.e2e.ledger_rows import payments_of
from tests.money.test_races import QUIET_WORKER, charged_payme_payment, said

FAST = dict(STATUS_WORKER_TICK=0.2, STATUS_CHECK_INTERVALS=[0.2], PAYING_STALE_AFTER=10, PROVIDER_READ_TIMEOUT=1.0,
            PROVIDER_CONNECT_TIMEOUT=1.0)


async def test_a_second_process_running_only_the_worker_settles_each_payment_once(
        make_settings, telegram, paylov, make_child, database_url):
    quiet = await BotProcess(make_settings(CARD_VAULT="payme", **QUIET_WORKER)).start()
    try:
        users = [(await charged_payme_payment(quiet, telegram, paylov, 1210 + n))[0] for n in range(3)]
    finally:
        await quiet.stop()
    pays_before = len(paylov.calls("servicePayment/pay/"))

    child = make_child(database_url, args=("worker",), CARD_VAULT="payme", **FAST)
    await child.start()
    bot = await BotProcess(make_settings(CARD_VAULT="payme", **FAST)).start()  # its own worker runs too
    try:
        async with bot.services.sessionmaker.begin() as session:  # every row due now, for both workers
            await session.execute(update(Payment).values(next_check_at=datetime.now(UTC)))
        for user in users:
            await user.wait_message("✅ Paid", timeout=30)
        rows = [p for user in users for p in await payments_of(bot, user.user_id)]
        assert [row.state for row in rows] == ["paid"] * 3
        assert len(paylov.calls("servicePayment/pay/")) - pays_before == 3
        assert len({row.transaction_id for row in rows}) == 3
        assert all(paylov.transaction(row.transaction_id)["status"] == "paid" for row in rows)
        await child.stop()  # a clean exit: whatever it was doing is finished
        assert [said(user, "✅ Paid") for user in users] == [1, 1, 1]
    finally:
        await bot.stop()
