"""A real `kill -9` of `python -m bot` at each step of a cashback withdrawal (issue 16), then a restart on the same
database: at most one payout at PaySys, the ledger and the cashback balance agree with the emulator, and the user is
told the outcome once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.sandbox.scenarios import add_card, hot_water_to_code, registered

KILL = dict(PROVIDER_CONNECT_TIMEOUT=0.5, PROVIDER_READ_TIMEOUT=1.0, PAYING_STALE_AFTER=5, STATUS_WORKER_TICK=0.2,
            STATUS_CHECK_INTERVALS=[0.3], STATUS_GIVE_UP_AFTER=20, CASHBACK_PERCENT="10")
CARD = "8600 3100 0000 0117"
SENT, NOT_SENT = "is complete", "did not go through"
BALANCE = 150_000  # tiyin: 10 % of a 15 000-sum bill


@dataclass(frozen=True)
class Case:
    name: str
    key: str  # the PaySys call held while the bot is killed
    apply: bool  # PaySys did the work before the kill (the answer is lost)
    told: str
    final: str
    sent: bool  # the money went out


CASES = [
    Case("prepare not applied", "prepare_remittance", False, NOT_SENT, "failed", False),
    Case("prepare applied", "prepare_remittance", True, NOT_SENT, "failed", False),
    Case("confirm applied", "confirm_remittance", True, SENT, "paid", True),
    Case("confirm not applied", "confirm_remittance", False, NOT_SENT, "failed", False),
]


def said(user, text: str) -> int:
    return sum(text in m.text for m in user.bot_messages)


async def with_cashback(child, telegram, user_id: int):
    await child.start()
    user = await registered(telegram, user_id)
    await add_card(user)
    await hot_water_to_code(user, amount="15000")
    await user.send("666666")
    await user.wait_message("Paid")
    await user.tap("💰 Cashback")
    await user.wait_message("Cashback: 1,500 sum")
    await user.press("💸 Withdraw")
    await user.wait_message("How much to withdraw?")
    await user.press("All: 1,500 sum")
    await user.wait_message("Send the number of the UzCard or HUMO card")
    return user


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_killed_mid_payout_ends_once_and_agrees_with_paysys(case, make_child, database_url, telegram, paysys):
    user_id = 7400 + CASES.index(case)
    child = make_child(database_url, **KILL)
    user = await with_cashback(child, telegram, user_id)
    if case.key == "prepare_remittance":
        hold = paysys.hold_next(case.key, apply=case.apply)
        await user.send(CARD)
    else:
        await user.send(CARD)
        await user.wait_message("Check the transfer")
        hold = paysys.hold_next(case.key, apply=case.apply)
        await user.press("✅ Confirm")
    await child.kill_when(hold)

    await child.start()
    await user.wait_message(case.told, timeout=40)
    [bill, payout] = await child.ledger.payments(user_id)
    await child.stop()

    assert payout.rail == "paysys" and payout.state == case.final and payout.lease_owner is None
    assert len(paysys.calls("prepare_remittance")) == 1  # never a second payout for one withdrawal
    assert len(paysys.calls("confirm_remittance")) <= 1
    at_paysys = paysys.payout(payout.partner_id) if case.apply or case.key != "prepare_remittance" else None
    if at_paysys is not None:
        assert (at_paysys["status"] == 1) is case.sent, at_paysys
    assert await child.ledger.cashback(user_id) == (0 if case.sent else BALANCE)
    assert said(user, case.told) == 1, user.transcript()
    assert said(user, "something went wrong") == 0


async def test_killed_between_prepare_and_confirm_the_user_still_confirms_once(make_child, database_url, telegram,
                                                                               paysys):
    child = make_child(database_url, **KILL)
    user = await with_cashback(child, telegram, 7410)
    await user.send(CARD)
    summary = await user.wait_message("Check the transfer")
    await child.kill()

    await child.start()
    await user.press("✅ Confirm", message=summary)
    await user.wait_message("1,500 sum sent to UZCARD •0117")
    [bill, payout] = await child.ledger.payments(7410)
    await child.stop()
    assert payout.state == "paid" and len(paysys.calls("confirm_remittance")) == 1
    assert paysys.payout(payout.partner_id)["status"] == 1
    assert await child.ledger.cashback(7410) == 0
