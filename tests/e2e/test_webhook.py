"""Webhook mode end to end, through the Telegram double's webhook delivery: the whole onboarding and a Paylov and a
Payme payment; a wrong and a missing secret refused; an update re-sent after success not run again; /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.runtime.set_webhook import run_set_webhook
from bot.runtime.webhook import SECRET_HEADER, WebhookServer
from bot.sandbox import scenarios
from bot.sandbox.scenarios import add_card, hot_water_to_code, registered
from tests.conftest import BOT_TOKEN
from tests.e2e.webhook_bot import PATH, SECRET, free_port, start_webhook_bot, webhook_settings


@pytest.fixture
async def webhook_bot(make_settings) -> AsyncIterator[WebhookServer]:
    server = await start_webhook_bot(make_settings(**webhook_settings()))
    yield server
    await server.stop()


@pytest.fixture
async def payme_webhook_bot(make_settings) -> AsyncIterator[WebhookServer]:
    server = await start_webhook_bot(make_settings(CARD_VAULT="payme", **webhook_settings()))
    yield server
    await server.stop()


async def post(server: WebhookServer, update: dict, secret: str | None = SECRET) -> tuple[int, str]:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as http, http.post(server.url + PATH, json=update, headers=headers) as answer:
        return answer.status, await answer.text()


async def test_onboarding_and_a_paylov_payment_by_webhook(webhook_bot, telegram, paylov):
    assert telegram.webhook.secret_token == SECRET and telegram.webhook.allowed_updates == ("callback_query", "message")
    user = await registered(telegram, 1701)
    await add_card(user)
    await hot_water_to_code(user)
    await user.send("666666")
    receipt = await user.wait_message("✅ Paid")
    [pay] = paylov.calls("servicePayment/pay/")
    assert pay.response["result"]["paymentRef"] in receipt.text
    assert telegram.calls_of("getUpdates") == []  # nothing polled: every update came by webhook
    assert all(delivery.status == 200 for delivery in telegram.deliveries)


async def test_a_payme_payment_by_webhook(payme_webhook_bot, telegram, payme):
    user = await registered(telegram, 1702)
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN)
    await scenarios.pay_with_payme_card(user)
    await user.wait_message("✅ Paid")
    assert len(payme.calls("receipts.pay")) == 1


async def test_a_wrong_or_missing_secret_is_refused(webhook_bot, telegram):
    update = {"update_id": 900001, "message": {"message_id": 1, "date": 0, "chat": {"id": 1703, "type": "private"},
                                               "from": {"id": 1703, "is_bot": False, "first_name": "X"},
                                               "text": "/start"}}
    assert (await post(webhook_bot, update, secret="not-the-secret"))[0] == 401
    assert (await post(webhook_bot, update, secret=None))[0] == 401
    assert telegram.calls_of("sendMessage") == []  # neither was run
    assert await webhook_bot.inbox.get(900001) is None


async def test_an_update_sent_again_after_success_is_not_run_again(webhook_bot, telegram):
    user = await registered(telegram, 1704)
    await user.send("/help")
    await user.wait_message("I help you pay")
    update_id = telegram.last_update_id
    await telegram.delivered(update_id)
    answers_before = len(user.bot_messages)
    await telegram.resend(update_id)  # Telegram never got the 200: it sends the same update again
    await telegram.wait_for(lambda: len(telegram.deliveries_of(update_id)) == 2)
    second = telegram.deliveries_of(update_id)[1]
    await telegram.wait_for(lambda: second.status is not None)
    assert second.status == 200  # answered at once, not run: "done" in the inbox
    await user.send("/help")  # the next update is answered; the re-sent one, had it run, would have come first
    await user.wait_for(lambda: len(user.bot_messages) == answers_before + 1)
    assert (await webhook_bot.inbox.get(update_id)).attempts == 1


async def test_healthz(webhook_bot):
    async with aiohttp.ClientSession() as http, http.get(webhook_bot.url + "/healthz") as answer:
        assert answer.status == 200 and (await answer.json())["ok"] is True


async def test_an_update_past_its_deadline_is_stopped_and_the_money_engine_tells_the_outcome(make_settings, telegram,
                                                                                           paylov, caplog):
    """Paylov holds the pay call past UPDATE_DEADLINE: the update is stopped and answered 200 (Telegram does not send
    it again), and the worker settles the payment by its status call and sends the receipt; pay is sent once."""
    # The deadline leaves a loaded machine time to reach the pay call; the read timeout outlasts the deadline.
    settings = make_settings(UPDATE_DEADLINE=3, INBOX_LEASE=10, PROVIDER_CONNECT_TIMEOUT=0.5,
                             PROVIDER_READ_TIMEOUT=5, PAYING_STALE_AFTER=13, STATUS_WORKER_TICK=0.2,
                             STATUS_CHECK_INTERVALS="0.2", **webhook_settings())
    server = await start_webhook_bot(settings)
    try:
        user = await registered(telegram, 1705)
        await add_card(user)
        await hot_water_to_code(user)
        hold = paylov.hold_next("servicePayment/pay/", apply=True)  # charged; the answer waits past the deadline
        await user.send("666666")
        update_id = telegram.last_update_id
        await hold.reached()
        delivery = await telegram.delivered(update_id, timeout=10)
        assert delivery.attempt == 1  # answered within Telegram's patience, once: not re-sent
        assert "stopped at its deadline" in caplog.text
        hold.release()
        receipt = await user.wait_message("✅ Paid", timeout=60)  # from the outbox, once the claim has run out
        assert "7,000 sum" in receipt.text
        assert len(paylov.calls("servicePayment/pay/")) == 1
        assert len(paylov.calls("transaction/status/")) >= 1
        assert len(telegram.deliveries_of(update_id)) == 1
    finally:
        await server.stop()


async def test_set_webhook_says_in_one_line_why_it_did_not(make_settings, telegram, capsys):
    refused = make_settings(WEBHOOK_URL="http://bot.example.com/telegram", WEBHOOK_SECRET=SECRET)
    assert await run_set_webhook(refused) == 2  # Telegram takes https only (plain http only to loopback here)
    assert capsys.readouterr().err.strip() == ("error: Telegram refused the webhook: Bad Request: bad webhook: "
                                               "An HTTPS URL must be provided for webhook")
    unreachable = make_settings(TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}", **webhook_settings())
    assert await run_set_webhook(unreachable) == 2
    assert capsys.readouterr().err.strip() == "error: the Bot API is unreachable: the webhook is not set"
    assert telegram.webhook is None


async def test_an_update_sent_again_while_it_is_being_handled_gets_503(webhook_bot, telegram, paylov):
    """Telegram gave up waiting and posted the update again while the first post is still being handled: the second
    is answered 503 (try later) without running, and the user gets one answer, from the first."""
    user = await registered(telegram, 1706)
    await add_card(user)
    await hot_water_to_code(user)
    hold = paylov.hold_next("servicePayment/pay/", apply=True)
    await user.send("666666")
    update_id = telegram.last_update_id
    await hold.reached()
    status, _ = await post(webhook_bot, telegram.created_updates[update_id])
    assert status == 503
    hold.release()
    await user.wait_message("✅ Paid")
    await telegram.delivered(update_id)
    assert len(paylov.calls("servicePayment/pay/")) == 1
    assert sum("✅ Paid" in m.text for m in user.bot_messages) == 1
    assert (await webhook_bot.inbox.get(update_id)).attempts == 1
