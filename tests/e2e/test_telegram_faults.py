"""Telegram failing on command, as the real Dispatcher meets it: 429 and 5xx answers, a held request, a refused
delete. Each test proves the fault reached the bot (what the Bot API ledger recorded) and asserts what the user sees:
a receipt delivered after all, never "try again" after a charge; a card number deleted after a 429, or the user asked
to delete it when Telegram refuses."""

from __future__ import annotations

import pytest

from bot.sandbox.child import wait_until
from bot.sandbox.scenarios import add_card, hot_water_to_code, registered, to_number_step
from bot.sandbox.telegram import ApiCall, FakeUser, Msg, TelegramDouble
from tests.e2e.ledger_rows import payments_of


async def outbox_of(app, payment_id: int) -> dict[str, str]:
    return await app.services.payments.outbox.states(payment_id)

GOOD = "8600 0691 9540 6311"

SORRY = "Sorry, something went wrong"
PAID = "✅ Paid"
PAID_SENT = "✅ <b>Paid</b>"  # as the bot sends it (HTML)


def sent_texts(telegram: TelegramDouble, after: int = 0) -> list[tuple[str, int, str | None]]:
    """sendMessage calls from the `after`-th on: (text, status the bot got, fault)."""
    return [(call.params["text"], call.status, call.fault) for call in telegram.calls_of("sendMessage")[after:]]


def shown(user: FakeUser, after: Msg) -> list[str]:
    """The bot's visible messages sent after a message of the user's."""
    return [m.text for m in user.bot_messages if m.message_id > after.message_id]


async def at_the_code(telegram: TelegramDouble, user_id: int) -> FakeUser:
    user = await registered(telegram, user_id)
    await add_card(user)
    await hot_water_to_code(user)
    return user


async def type_the_code_with_the_receipt(telegram: TelegramDouble, user: FakeUser, fault: str) -> Msg:
    """Types the SMS code; the bot's "Paying…" goes through, and its next sendMessage (the receipt) gets `fault`:
    "429", a 5xx, or "drop" (delivered to the chat, the bot's connection closed unanswered)."""
    paying = telegram.hold_next("sendMessage", apply=True)  # the fault must skip "Paying…": queue it once shown
    code = await user.send("666666")
    await paying.reached()
    assert shown(user, code) == ["Paying…"]
    receipt = None
    if fault == "429":
        telegram.fail_next("sendMessage", "429", retry_after=1)
    elif fault == "drop":
        receipt = telegram.hold_next("sendMessage", apply=True)
    else:
        telegram.fail_next("sendMessage", fault)
    paying.release()
    if receipt is not None:
        await receipt.reached()
        receipt.release(proceed=False)
    return code


# ---- the receipt: 429, 5xx, a dropped answer, a hold --------------------------------------------------------

@pytest.mark.parametrize("fault, status", [("429", 429), ("502", 502)])
async def test_a_telegram_error_on_the_receipt_is_waited_out_or_retried(app, telegram, paylov, fault, status):
    """A 429 is waited out in place (retry_after 1 s); a 5xx leaves the receipt to the outbox's schedule. The paid
    user is never told "something went wrong… try again"."""
    user = await at_the_code(telegram, 1101)
    before = len(telegram.calls_of("sendMessage"))
    code = await type_the_code_with_the_receipt(telegram, user, fault)
    await user.wait_message(PAID, timeout=20)

    [paying, failed, receipt] = sent_texts(telegram, before)
    assert paying == ("Paying…", 200, "hold")
    assert failed[0].startswith(PAID_SENT) and failed[1:] == (status, fault)
    assert receipt[0].startswith(PAID_SENT) and receipt[1:] == (200, None)  # the bot's next call: the receipt again
    if fault == "429":
        assert telegram.calls_of("sendMessage")[before + 1].response["parameters"] == {"retry_after": 1}
    [payment] = await payments_of(app, 1101)
    assert payment.state == "paid" and len(paylov.calls("servicePayment/pay/")) == 1
    assert [text[:len(PAID)] for text in shown(user, code)] == [PAID]

    async def marked_sent() -> bool:  # the row is marked after Telegram took the message: the user may see it first
        return await outbox_of(app, payment.id) == {"paid": "sent"}

    await wait_until(marked_sent, what="the receipt's outbox row marked sent")


@pytest.mark.parametrize("fault", ["429", "502", "drop"])
async def test_the_receipt_arrives_despite_a_telegram_error(app, telegram, paylov, fault):
    user = await at_the_code(telegram, 1102)
    before = len(telegram.calls_of("sendMessage"))
    code = await type_the_code_with_the_receipt(telegram, user, fault)
    # The bot's first call after the failed receipt: a receipt again (after retry_after), not an apology.
    await telegram.wait_for(lambda: len(telegram.calls_of("sendMessage")) >= before + 3, timeout=15)
    retried: ApiCall = telegram.calls_of("sendMessage")[before + 2]
    assert retried.params["text"].startswith(PAID_SENT) and retried.ok
    assert any(text.startswith(PAID) for text in shown(user, code))
    assert not any(SORRY in text for text in shown(user, code))


async def test_a_dropped_answer_to_a_delivered_receipt_is_sent_again_never_an_apology(app, telegram, paylov):
    """Telegram took the receipt but the bot never heard: at least once, so the user may read it twice."""
    user = await at_the_code(telegram, 1103)
    before = len(telegram.calls_of("sendMessage"))
    code = await type_the_code_with_the_receipt(telegram, user, "drop")
    await user.wait_for(lambda: sum(text.startswith(PAID) for text in shown(user, code)) == 2, timeout=20)

    [paying, receipt, again] = sent_texts(telegram, before)
    assert receipt[0].startswith(PAID_SENT) and receipt[1:] == (0, "hold")  # in the chat, but the bot got no answer
    assert again[0].startswith(PAID_SENT) and again[1:] == (200, None)
    [payment] = await payments_of(app, 1103)
    assert payment.state == "paid"
    assert not any(SORRY in text for text in shown(user, code))
    assert await outbox_of(app, payment.id) == {"paid": "sent"}


async def test_a_held_receipt_arrives_when_released(app, telegram, paylov):
    user = await at_the_code(telegram, 1104)
    before = len(telegram.calls_of("sendMessage"))
    paying = telegram.hold_next("sendMessage", apply=True)
    receipt = telegram.hold_next("sendMessage", apply=False)
    code = await user.send("666666")
    await paying.reached()
    paying.release()
    await receipt.reached()  # the bot waits on Telegram with the receipt in hand

    [payment] = await payments_of(app, 1104)
    assert payment.state == "paid" and len(paylov.calls("servicePayment/pay/")) == 1
    assert not any(text.startswith(PAID) for text in shown(user, code))
    assert [text for text, _, _ in sent_texts(telegram, before)] == ["Paying…"]  # the receipt is not answered yet

    receipt.release()
    message = await user.wait_message(PAID)
    assert paylov.calls("servicePayment/pay/")[0].response["result"]["paymentRef"] in message.text
    assert [(status, fault) for _, status, fault in sent_texts(telegram, before)] == [(200, "hold"), (200, "hold")]
    assert shown(user, code) == [message.text]  # "Paying…" deleted, the receipt, nothing else
    assert not any(SORRY in text for text in shown(user, code))


# ---- the card number: a refused delete, a 429 on the delete ----------------------------------------------------

async def test_a_refused_delete_keeps_the_step_and_asks_the_user_to_delete_it(app, telegram, paylov):
    user = await registered(telegram, 1111)
    await to_number_step(user)
    telegram.fail_next("deleteMessage", "refuse")
    number = await user.send(GOOD)
    await user.wait_message("I sent a code by SMS")

    [delete] = [c for c in telegram.calls_of("deleteMessage") if c.params["message_id"] == number.message_id]
    assert delete.params == {"chat_id": 1111, "message_id": number.message_id}
    assert (delete.status, delete.fault, delete.description) == (400, "refuse", "Bad Request: message can't be deleted")
    # Telegram keeps it: the user is asked to delete it, and the card is still added (the step goes on).
    assert not user.message(number.message_id).deleted
    assert any("Please delete it yourself" in text for text in shown(user, number))
    # a refusal is final: not tried again
    assert len([c for c in telegram.calls_of("deleteMessage") if c.params["message_id"] == number.message_id]) == 1


async def test_the_user_is_asked_to_delete_a_number_telegram_keeps(app, telegram, paylov):
    user = await registered(telegram, 1112)
    await to_number_step(user)
    telegram.refuse_deletes = True  # Telegram refuses for good
    number = await user.send(GOOD)
    await user.wait_for(lambda: any("delete" in text.lower() for text in shown(user, number)), timeout=3)
    assert telegram.calls_of("deleteMessage")[-1].fault == "refuse"


async def test_the_card_number_is_deleted_after_a_429(app, telegram, paylov):
    user = await registered(telegram, 1114)
    await to_number_step(user)
    telegram.fail_next("deleteMessage", "429", retry_after=1)
    number = await user.send(GOOD)
    await user.wait_for(lambda: user.message(number.message_id).deleted
                        or any(SORRY in text for text in shown(user, number)), timeout=10)
    assert user.message(number.message_id).deleted
    assert not any(SORRY in text for text in shown(user, number))
    deletes = [c for c in telegram.calls_of("deleteMessage") if c.params["message_id"] == number.message_id]
    assert [(c.status, c.fault) for c in deletes][:2] == [(429, "429"), (200, None)]
