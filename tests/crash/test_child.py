"""`python -m bot` as a real child process: stopped, restarted, and killed with SIGKILL in the middle of a call."""

from __future__ import annotations

import signal

import pytest

from bot.sandbox.child import ChildFailed, child_env, describe_ledgers
from bot.sandbox.scenarios import add_card, hot_water_to_code, registered

# The worker runs soon after a restart: a short tick and schedule, and a claim on a row expires after 3 s (kept
# above the moment of the kill, so the first process's own worker never settles the row before it dies).
FAST_SETTLEMENT = dict(STATUS_CHECK_INTERVALS=[0.2, 0.5, 1], STATUS_WORKER_TICK=0.2, PAYING_STALE_AFTER=3,
                       PROVIDER_CONNECT_TIMEOUT=0.2, PROVIDER_READ_TIMEOUT=0.3,
                       STATUS_GIVE_UP_AFTER=60)


def receipts(user) -> int:
    return sum("✅ Paid" in m.text for m in user.bot_messages)


async def test_restarted_child_still_knows_the_user_and_card(make_child, telegram):
    child = make_child()
    await child.start()
    first = child.pid
    user = await registered(telegram, 7101)
    await add_card(user)

    await child.restart()  # SIGTERM, a clean exit, a new process on the same database
    assert child.exit_codes == [0]
    assert child.pid != first and child.running

    await user.send("/start")
    await user.wait_message("Welcome back")  # not the language question: the user row survived
    await user.tap("💳 My cards")
    cards = await user.wait_message("Your cards")
    assert any("6311" in label for label in cards.labels), cards.labels
    assert "starting long polling (providers: live)" in child.log_text()


async def test_killed_while_paylov_pay_is_held_is_settled_after_restart(make_child, telegram, paylov):
    """SIGKILL while Paylov holds `pay` after charging the card: the restarted bot asks transaction/status,
    records the payment as paid and tells the user once; `pay` is never sent again."""
    child = make_child(**FAST_SETTLEMENT)
    await child.start()
    user = await registered(telegram, 7102)
    await add_card(user)
    await hot_water_to_code(user, account="10000002", amount="7000")
    hold = paylov.hold_next("servicePayment/pay/", apply=True)  # the card is charged, the answer withheld
    await user.send("666666")

    assert await child.kill_when(hold) == -signal.SIGKILL
    [payment] = await child.ledger.payments(7102)
    assert payment.state == "paying", describe_ledgers([payment], pay=paylov.calls("servicePayment/pay/"))
    assert paylov.transaction(payment.transaction_id)["status"] == "paid"  # the money moved at the provider
    assert receipts(user) == 0
    statuses_before = len(paylov.calls("transaction/status/"))

    await child.start()
    receipt = await user.wait_message("✅ Paid", timeout=10)
    assert "7,000 sum" in receipt.text and payment.transaction_id in receipt.text

    [payment] = await child.ledger.payments(7102)
    pays = paylov.calls("servicePayment/pay/")
    assert len(pays) == 1, describe_ledgers([payment], pay=pays)
    assert len(paylov.calls("transaction/status/")) > statuses_before  # settled by asking, not by paying again
    assert payment.state == "paid"
    states = await child.ledger.states(payment.id)
    assert states == ["draft", "creating", "created", "paying", "unknown", "paid"], states
    assert receipts(user) == 1
    assert child.exit_codes == [-signal.SIGKILL]


async def test_a_child_that_cannot_start_fails_with_its_log(make_child):
    child = make_child(STATUS_WORKER_TICK=-1)
    with pytest.raises(ChildFailed) as failed:
        await child.start()
    assert "exited with 2" in str(failed.value)
    assert "setting STATUS_WORKER_TICK is invalid" in str(failed.value)  # the child's own line, from its log
    assert not child.running


async def test_child_env_is_the_doubles_and_nothing_from_the_shell(monkeypatch, telegram, paylov, payme, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://somewhere:6379/0")
    monkeypatch.setenv("CARD_VAULT", "payme")
    monkeypatch.setenv("operator_chat_id", "1")  # pydantic-settings matches names in any case
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    env = child_env(telegram=telegram, paylov=paylov, payme=payme, database_url=url,
                    STATUS_CHECK_INTERVALS=(0.2, 1), ALLOW_TEST_CARDS=False, LOG_LEVEL=None)
    assert not {"REDIS_URL", "CARD_VAULT", "operator_chat_id", "LOG_LEVEL"} & set(env)
    assert env["PROVIDERS"] == "live" and env["DATABASE_URL"] == url
    assert env["TELEGRAM_API_URL"] == telegram.base_url and env["PAYLOV_BASE_URL"] == paylov.base_url
    assert env["PAYME_BASE_URL"] == payme.base_url and env["PAYLOV_SETTLEMENT_CARD_ID"]
    assert env["STATUS_CHECK_INTERVALS"] == "[0.2, 1]" and env["ALLOW_TEST_CARDS"] == "false"
    with pytest.raises(ValueError, match="STATUS_CHECK_INTERVAL"):
        child_env(telegram=telegram, paylov=paylov, database_url=url, STATUS_CHECK_INTERVAL=[1])
