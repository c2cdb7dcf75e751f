"""PaymeClient against the Payme Subscribe emulator on 127.0.0.1: X-Auth, envelopes, typed errors, faults.

The ledger shows what reached the provider; a few shapes the emulator never produces are faked at the transport.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bot.providers.errors import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.providers.http import make_http_client
from bot.providers.payme import GET_ALL_MAX, PaymeClient, PaymeRejected
from bot.providers.payme_models import ReceiptState
from bot.sandbox.payme import PaymeSandbox

MERCHANT, KEY = "5e730e8e0b852a417aa49ceb", "sandbox-key"
RICH_CARD, POOR_CARD, EXPIRED_CARD = "8600069195406311", "8600495473316478", "3333336415804657"  # seed 001
EXPIRY, CODE, WRONG_CODE = "0399", "666666", "314159"
PHONE = "998901304527"
ACCOUNT = {"order_id": "2326"}

ID_ONLY = {"cards.create", "cards.get_verify_code", "cards.verify"}
KEYED = {"cards.check", "cards.remove", "receipts.create", "receipts.pay", "receipts.send", "receipts.cancel",
         "receipts.check", "receipts.get", "receipts.get_all"}


# ---- fixtures and helpers --------------------------------------------------------------------------------------


@dataclass
class Env:
    payme: PaymeSandbox
    client: PaymeClient


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    payme = PaymeSandbox(merchant_id=MERCHANT, key=KEY, slow_delay=2.0)
    base_url = await payme.start()
    try:
        async with make_http_client(read=0.5, connect=0.5) as http:
            yield Env(payme, PaymeClient(http, base_url=base_url, merchant_id=MERCHANT, key=KEY))
    finally:
        await payme.stop()


async def verified_token(client: PaymeClient, number: str = RICH_CARD) -> str:
    created = await client.cards_create(number, EXPIRY)
    await client.cards_get_verify_code(created.token)
    return (await client.cards_verify(created.token, CODE)).token


def params(entry) -> dict:
    return entry.body["params"]


def now_ms() -> int:
    return int(time.time() * 1000)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- X-Auth and JSON-RPC ids -----------------------------------------------------------------------------------


async def test_x_auth_is_the_merchant_id_for_front_end_methods_and_id_key_for_the_rest(env: Env):
    client = env.client
    token = await verified_token(client)
    await client.cards_check(token)
    receipt = await client.receipts_create(15_000, ACCOUNT)
    await client.receipts_pay(receipt.id, token)
    await client.receipts_send(receipt.id, PHONE)
    await client.receipts_check(receipt.id)
    await client.receipts_get(receipt.id)
    await client.receipts_get_all(10, 0, now_ms() + 1_000, 0)
    await client.receipts_cancel(receipt.id)
    await client.cards_remove(token)

    seen = {entry.method: entry.auth for entry in env.payme.ledger}  # the sandbox classifies the header
    assert set(seen) == ID_ONLY | KEYED
    assert {method for method, auth in seen.items() if auth == "id"} == ID_ONLY
    assert {method for method, auth in seen.items() if auth == "id:key"} == KEYED
    assert all(entry.status == 200 and "error" not in entry.response for entry in env.payme.ledger)
    assert {(entry.http_method, entry.path) for entry in env.payme.ledger} == {("POST", "/api")}


async def test_request_ids_increase(env: Env):
    token = await verified_token(env.client)
    await env.client.cards_check(token)
    ids = [entry.body["id"] for entry in env.payme.ledger]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids)
    assert [entry.response["id"] for entry in env.payme.ledger] == ids


async def test_a_wrong_key_is_rejected_by_the_provider(env: Env):
    async with make_http_client(read=0.5, connect=0.5) as http:
        client = PaymeClient(http, base_url=env.payme.base_url, merchant_id=MERCHANT, key="wrong")
        created = await client.cards_create(RICH_CARD, EXPIRY)  # needs no key
        with pytest.raises(ProviderRejected) as error:
            await client.cards_check(created.token)
    assert error.value.code == "-32504" and error.value.message
    assert env.payme.calls("cards.check")[0].auth == "wrong"


# ---- errors ----------------------------------------------------------------------------------------------------


async def test_error_is_a_rejection_with_the_code_and_the_message(env: Env):
    with pytest.raises(ProviderRejected) as error:
        await env.client.cards_create(EXPIRED_CARD, EXPIRY)
    assert (error.value.code, error.value.message) == ("-31301", "Срок действия карты истёк")
    assert EXPIRED_CARD not in str(error.value)

    created = await env.client.cards_create(RICH_CARD, EXPIRY)
    await env.client.cards_get_verify_code(created.token)
    with pytest.raises(ProviderRejected) as error:
        await env.client.cards_verify(created.token, WRONG_CODE)
    assert (error.value.code, error.value.message) == ("-31103", "Неверный код")
    assert WRONG_CODE not in str(error.value) and created.token not in str(error.value)

    token = await verified_token(env.client, POOR_CARD)  # 2 000 000 tiyin on it
    receipt = await env.client.receipts_create(3_000_000, ACCOUNT)
    with pytest.raises(ProviderRejected) as error:
        await env.client.receipts_pay(receipt.id, token)
    assert (error.value.code, error.value.message) == ("-31303", "Недостаточно средств на карте")
    assert await env.client.receipts_check(receipt.id) == ReceiptState.CREATED


async def test_localized_message_keeps_every_language():
    """Payme may answer `message` as {"ru", "uz", "en"}; the emulator answers one language, so faked here."""

    def provider(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        message = {"ru": "Недостаточно средств", "uz": "Mablag' yetarli emas", "en": "Insufficient funds"}
        return httpx.Response(200, json={"id": body["id"], "error": {"code": -31303, "message": message}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        client = PaymeClient(http, base_url="http://payme.test/api", merchant_id=MERCHANT, key=KEY)
        with pytest.raises(PaymeRejected) as error:
            await client.receipts_pay("r", "token")
    assert (error.value.code, error.value.message) == ("-31303", "Недостаточно средств")  # ru first
    assert error.value.messages["uz"] == "Mablag' yetarli emas" and error.value.messages["en"]


async def test_unreadable_answers_are_outcome_unknown_and_plain_4xx_a_rejection():
    """Shapes the emulator never produces, so only the transport is faked here."""

    def provider(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        answers = {
            "receipts.pay": httpx.Response(200, json={"id": body["id"], "result": {"receipt": {"_id": "r"}}}),
            "receipts.create": httpx.Response(200, text="<html>ok</html>"),
            "receipts.check": httpx.Response(200, json={"id": body["id"] + 100, "result": {"state": 4}}),
            "receipts.get": httpx.Response(200, json={"id": body["id"], "error": {"code": -31602, "message": None}}),
        }
        return answers.get(body["method"], httpx.Response(404, text="<html>not found</html>"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        client = PaymeClient(http, base_url="http://payme.test/api", merchant_id=MERCHANT, key=KEY)
        with pytest.raises(ProviderOutcomeUnknown):
            await client.receipts_pay("r", "token")
        with pytest.raises(ProviderOutcomeUnknown):
            await client.receipts_create(500, ACCOUNT)
        with pytest.raises(ProviderOutcomeUnknown):  # the answer to someone else's request
            await client.receipts_check("r")
        with pytest.raises(ProviderRejected) as error:
            await client.receipts_get("r")
        assert (error.value.code, error.value.message) == ("-31602", "")
        with pytest.raises(ProviderRejected) as error:
            await client.cards_check("token")
        assert error.value.code == "http_404"


# ---- amounts and limits ----------------------------------------------------------------------------------------


async def test_amounts_are_tiyin_ints(env: Env):
    for amount in (15_000.0, True, "15000"):
        with pytest.raises(TypeError):
            await env.client.receipts_create(amount, ACCOUNT)  # type: ignore[arg-type]
    assert env.payme.calls("receipts.create") == []
    receipt = await env.client.receipts_create(400_000, ACCOUNT)
    assert params(env.payme.calls("receipts.create")[0])["amount"] == 400_000
    assert receipt.amount == 400_000 and isinstance(receipt.amount, int)


async def test_get_all_count_is_at_most_50(env: Env):
    start = now_ms() - 1_000
    for count in (GET_ALL_MAX + 1, 0, -1):
        with pytest.raises(ValueError):
            await env.client.receipts_get_all(count, start, now_ms(), 0)
    with pytest.raises(TypeError):
        await env.client.receipts_get_all(10.0, start, now_ms(), 0)  # type: ignore[arg-type]
    assert env.payme.calls("receipts.get_all") == []
    created = [await env.client.receipts_create(1_000 + i, ACCOUNT) for i in range(3)]
    end = now_ms() + 60_000
    assert {r.id for r in await env.client.receipts_get_all(GET_ALL_MAX, start, end, 0)} == {r.id for r in created}
    assert len(await env.client.receipts_get_all(2, start, end, 2)) == 1
    assert params(env.payme.calls("receipts.get_all")[-1]) == {"count": 2, "from": start, "to": end, "offset": 2}


# ---- transport faults ------------------------------------------------------------------------------------------


async def test_closed_port_is_unavailable():
    async with make_http_client(read=0.5, connect=0.5) as http:
        client = PaymeClient(http, base_url=f"http://127.0.0.1:{closed_port()}/api", merchant_id=MERCHANT, key=KEY)
        with pytest.raises(ProviderUnavailable):
            await client.receipts_check("r")
        with pytest.raises(ProviderUnavailable):
            await client.receipts_pay("r", "token")


@pytest.mark.parametrize(("mode", "apply"), [("timeout", True), ("drop", True), ("500", True), ("drop", False)])
async def test_pay_without_an_answer_is_outcome_unknown_and_not_resent(env: Env, mode: str, apply: bool):
    token = await verified_token(env.client)
    receipt = await env.client.receipts_create(15_000, ACCOUNT)
    env.payme.fail_next("receipts.pay", mode, apply=apply)
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.receipts_pay(receipt.id, token)
    assert len(env.payme.calls("receipts.pay")) == 1
    state = await env.client.receipts_check(receipt.id)  # what the caller does instead of resending
    assert state == (ReceiptState.PAID if apply else ReceiptState.CREATED)


async def test_slow_processing_is_outcome_unknown(env: Env):
    with pytest.raises(ProviderOutcomeUnknown):  # seed 001: this card hangs, then fails; we stop waiting first
        await env.client.cards_create("8600134301849596", EXPIRY)


@pytest.mark.parametrize("method", ["cards.create", "cards.get_verify_code", "receipts.create", "cards.remove"])
async def test_calls_with_an_effect_are_never_resent(env: Env, method: str):
    created = await env.client.cards_create(RICH_CARD, EXPIRY)
    env.payme.fail_next(method, "drop")
    calls = {
        "cards.create": lambda: env.client.cards_create(RICH_CARD, EXPIRY),
        "cards.get_verify_code": lambda: env.client.cards_get_verify_code(created.token),
        "receipts.create": lambda: env.client.receipts_create(1_000, ACCOUNT),
        "cards.remove": lambda: env.client.cards_remove(created.token),
    }
    before = len(env.payme.calls(method))
    with pytest.raises(ProviderOutcomeUnknown):
        await calls[method]()
    assert len(env.payme.calls(method)) == before + 1


@pytest.mark.parametrize("mode", ["drop", "500"])
async def test_idempotent_read_is_resent_once_with_a_new_id(env: Env, mode: str):
    receipt = await env.client.receipts_create(1_000, ACCOUNT)
    env.payme.fail_next("receipts.check", mode)
    assert await env.client.receipts_check(receipt.id) == ReceiptState.CREATED
    first, second = env.payme.calls("receipts.check")
    assert second.body["id"] > first.body["id"]


async def test_idempotent_read_fails_after_the_second_attempt(env: Env):
    token = await verified_token(env.client)
    env.payme.fail_next("cards.check", "500")
    env.payme.fail_next("cards.check", "500")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.cards_check(token)
    assert [entry.status for entry in env.payme.calls("cards.check")] == [500, 500]


async def test_idempotent_read_that_times_out_is_outcome_unknown_without_resend(env: Env):
    receipt = await env.client.receipts_create(1_000, ACCOUNT)
    env.payme.fail_next("receipts.get", "timeout")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.receipts_get(receipt.id)
    assert len(env.payme.calls("receipts.get")) == 1


# ---- faults on command: 429, error, garbage --------------------------------------------------------------------


# A 429 did nothing: the client says so (a rejection, or "unavailable"), never "outcome unknown".
NOTHING_HAPPENED = (ProviderRejected, ProviderUnavailable)


async def test_429_with_a_long_retry_after_says_nothing_happened_and_is_not_resent(env: Env):
    receipt = await env.client.receipts_create(1_000, ACCOUNT)
    env.payme.fail_next("receipts.check", "429", retry_after=30)
    with pytest.raises(NOTHING_HAPPENED):
        await env.client.receipts_check(receipt.id)  # an idempotent read, and still not sent again
    assert [(entry.status, entry.fault) for entry in env.payme.calls("receipts.check")] == [(429, "429")]


async def test_429_on_pay_says_nothing_happened(env: Env):
    token = await verified_token(env.client)
    receipt = await env.client.receipts_create(15_000, ACCOUNT)
    env.payme.fail_next("receipts.pay", "429", retry_after=1)
    with pytest.raises(NOTHING_HAPPENED):
        await env.client.receipts_pay(receipt.id, token)
    assert len(env.payme.calls("receipts.pay")) == 1  # a charge is never sent again by the client
    assert await env.client.receipts_check(receipt.id) == ReceiptState.CREATED


async def test_a_documented_error_is_a_rejection_and_nothing_was_done(env: Env):
    token = await verified_token(env.client)
    receipt = await env.client.receipts_create(15_000, ACCOUNT)
    env.payme.fail_next("receipts.pay", "error", code=-31630)
    with pytest.raises(PaymeRejected) as error:
        await env.client.receipts_pay(receipt.id, token)
    assert (error.value.code, error.value.message) == ("-31630", "Карта не подтверждена")
    assert await env.client.receipts_check(receipt.id) == ReceiptState.CREATED


@pytest.mark.parametrize("apply", [False, True])
async def test_garbage_on_pay_is_outcome_unknown_and_not_resent(env: Env, apply: bool):
    token = await verified_token(env.client)
    receipt = await env.client.receipts_create(15_000, ACCOUNT)
    env.payme.fail_next("receipts.pay", "garbage", apply=apply)
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.receipts_pay(receipt.id, token)
    assert len(env.payme.calls("receipts.pay")) == 1
    assert await env.client.receipts_check(receipt.id) == (ReceiptState.PAID if apply else ReceiptState.CREATED)


async def test_garbage_on_a_read_is_outcome_unknown_and_not_resent(env: Env):
    token = await verified_token(env.client)
    env.payme.fail_next("cards.check", "garbage")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.cards_check(token)
    assert [(entry.status, entry.fault) for entry in env.payme.calls("cards.check")] == [(200, "garbage")]


# ---- models over a whole flow ----------------------------------------------------------------------------------


async def test_models_over_a_whole_flow(env: Env, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    client = env.client

    created = await client.cards_create("8600 0691 9540 6311", "03/99", save=True)  # spaces and slash dropped
    assert params(env.payme.calls("cards.create")[0]) == {"card": {"number": RICH_CARD, "expire": EXPIRY},
                                                          "save": True}
    assert (created.number, created.expire, created.verify, created.recurrent) == (
        "860006******6311", "03/99", False, True)
    assert created.token not in repr(created)  # a credential: never in a repr, a traceback or a log
    code = await client.cards_get_verify_code(created.token)
    assert code.sent and code.phone == "99890*****66" and code.wait == 60_000
    card = await client.cards_verify(created.token, CODE)
    assert card.verify and card.token
    assert (await client.cards_check(card.token)).verify

    receipt = await client.receipts_create(400_000, ACCOUNT, description="Electricity", detail={"items": []})
    assert receipt.state == ReceiptState.CREATED and not receipt.final and receipt.create_time > 0
    assert [(item.name, item.value) for item in receipt.account] == [("order_id", "2326")]
    assert receipt.merchant and receipt.merchant.epos and receipt.merchant.epos.terminal_id == "20660000"
    assert params(env.payme.calls("receipts.create")[0])["description"] == "Electricity"

    paid = await client.receipts_pay(receipt.id, card.token, phone=PHONE)
    assert params(env.payme.calls("receipts.pay")[0]) == {"id": receipt.id, "token": card.token,
                                                          "payer": {"phone": PHONE}}
    assert paid.paid and paid.final and paid.pay_time > 0 and paid.card and paid.card.number.endswith("6311")
    assert env.payme.card_balance(card.token) == 500_000_000 - 400_000
    assert await client.receipts_check(receipt.id) == ReceiptState.PAID
    assert await client.receipts_send(receipt.id, PHONE) is True
    assert (await client.receipts_cancel(receipt.id)).state == ReceiptState.CANCEL_QUEUED
    cancelled = await client.receipts_get(receipt.id)
    assert cancelled.id == receipt.id and cancelled.state == ReceiptState.CANCELLED and cancelled.cancel_time > 0

    listed = await client.receipts_get_all(10, receipt.create_time, now_ms() + 1_000, 0)
    assert [(r.id, r.amount) for r in listed] == [(receipt.id, 400_000)]
    assert isinstance(listed[0].account[0].title, dict)  # get_all titles are per language

    unpaid = await client.receipts_create(1_000, ACCOUNT)
    assert (await client.receipts_cancel(unpaid.id)).state == ReceiptState.CANCELLED

    assert await client.cards_remove(card.token) is True
    with pytest.raises(ProviderRejected) as error:
        await client.cards_check(card.token)
    assert error.value.code == "-31400"

    for secret in (RICH_CARD, "8600 0691 9540 6311", CODE, created.token, card.token, KEY):
        assert secret not in caplog.text
    assert "payme receipts.pay -> 200" in caplog.text
