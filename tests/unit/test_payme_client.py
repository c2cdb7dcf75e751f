"""PaymeClient against a small Payme Subscribe stand-in on 127.0.0.1: X-Auth, envelopes, typed errors, faults.

The stand-in (`FakePayme`, below) follows seeds 000/001 and providers.md only as far as these tests need; the
shared emulator `bot.sandbox.payme` did not exist yet when this was written. Once it does, the `payme` fixture can
start it instead: the tests use only `base_url`, `calls(method)` and `fail_next(method, mode)`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.providers.errors import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.providers.http import make_http_client
from bot.providers.payme import GET_ALL_MAX, PaymeClient, PaymeRejected
from bot.providers.payme_models import ReceiptState

MERCHANT, KEY = "5e730e8e0b852a417aa49ceb", "sandbox-key"
RICH_CARD, POOR_CARD, EXPIRED_CARD = "8600069195406311", "8600495473316478", "3333336415804657"  # seed 001
EXPIRY, CODE, WRONG_CODE = "0399", "666666", "314159"
PHONE = "998901304527"
ACCOUNT = {"order_id": "2326"}

ID_ONLY = {"cards.create", "cards.get_verify_code", "cards.verify"}
KEYED = {"cards.check", "cards.remove", "receipts.create", "receipts.pay", "receipts.send", "receipts.cancel",
         "receipts.check", "receipts.get", "receipts.get_all"}


# ---- the stand-in --------------------------------------------------------------------------------------------------


class Reject(Exception):
    def __init__(self, code: int, message: str | dict[str, str]) -> None:
        self.code, self.message = code, message


@dataclass
class Entry:
    method: str
    auth: str | None
    id: Any
    params: dict[str, Any]
    status: int


@dataclass
class FakePayme:
    """Card tokens and receipts in memory; every request lands in `ledger`, faults are queued per method."""

    merchant_id: str = MERCHANT
    key: str = KEY
    ledger: list[Entry] = field(default_factory=list)
    base_url: str = ""
    _cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> card
    _receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    _faults: list[tuple[str, str]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api", self._serve)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/api"
        return self.base_url

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def calls(self, method: str) -> list[Entry]:
        return [entry for entry in self.ledger if entry.method == method]

    def fail_next(self, method: str, mode: str) -> None:
        """"500", "drop" (connection closed, no answer) or "timeout" (no answer until stop)."""
        self._faults.append((method, mode))

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        method, params = body.get("method", ""), body.get("params") or {}
        auth = request.headers.get("X-Auth")
        fault = next((f for f in self._faults if f[0] == method), None)
        if fault is not None:
            self._faults.remove(fault)
            self.ledger.append(Entry(method, auth, body.get("id"), params, 0 if fault[1] != "500" else 500))
            if fault[1] == "500":
                return web.Response(status=500, text="<h1>Server Error</h1>", content_type="text/html")
            if fault[1] == "timeout":
                await self._released.wait()
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=504)
        self.ledger.append(Entry(method, auth, body.get("id"), params, 200))
        expected = self.merchant_id if method in ID_ONLY else f"{self.merchant_id}:{self.key}"
        try:
            if auth != expected:
                raise Reject(-32504, "Недостаточно привилегий для выполнения метода.")
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                raise Reject(-32601, "Method not found")
            payload = {"jsonrpc": "2.0", "id": body.get("id"), "result": handler(params)}
        except Reject as reject:
            payload = {"jsonrpc": "2.0", "id": body.get("id"),
                       "error": {"code": reject.code, "message": reject.message}}
        return web.json_response(payload)  # Payme answers errors with 200 too

    def _card(self, params: dict[str, Any]) -> dict[str, Any]:
        card = self._cards.get(params.get("token", ""))
        if card is None:
            raise Reject(-31400, "Токен карты не найден")
        return card

    def _view(self, card: dict[str, Any], token: str) -> dict[str, Any]:
        return {"number": card["pan"][:6] + "******" + card["pan"][-4:], "expire": "03/99", "token": token,
                "recurrent": card["save"], "verify": card["verify"], "type": "22618"}

    def _cards_create(self, params: dict[str, Any]) -> Any:
        pan, expire = params["card"]["number"], params["card"]["expire"]
        if pan == EXPIRED_CARD:
            raise Reject(-31301, {"ru": "Срок действия карты истёк", "uz": "Karta muddati tugagan",
                                  "en": "Card expired"})
        if pan not in (RICH_CARD, POOR_CARD) or expire != EXPIRY:
            raise Reject(-31300, "Неверный номер или срок карты")
        token = f"tok{next(self._ids)}_" + "x" * 40
        balance = 500_000_000 if pan == RICH_CARD else 10_000
        self._cards[token] = {"pan": pan, "save": params.get("save", True), "verify": False, "balance": balance}
        return {"card": self._view(self._cards[token], token)}

    def _cards_get_verify_code(self, params: dict[str, Any]) -> Any:
        self._card(params)
        return {"sent": True, "phone": "99890*****27", "wait": 60000}

    def _cards_verify(self, params: dict[str, Any]) -> Any:
        card = self._card(params)
        if params.get("code") != CODE:
            raise Reject(-31103, "Неверный код. Попробуйте ещё раз.")
        card["verify"] = True
        token = f"tok{next(self._ids)}_" + "v" * 40  # the verified token replaces the first one
        self._cards[token] = self._cards.pop(params["token"])
        return {"card": self._view(card, token)}

    def _cards_check(self, params: dict[str, Any]) -> Any:
        return {"card": self._view(self._card(params), params["token"])}

    def _cards_remove(self, params: dict[str, Any]) -> Any:
        self._card(params)
        del self._cards[params["token"]]
        return {"success": True}

    def _receipt(self, params: dict[str, Any]) -> dict[str, Any]:
        receipt = self._receipts.get(params.get("id", ""))
        if receipt is None:
            raise Reject(-31602, "Чек не найден")
        return receipt

    def _receipts_create(self, params: dict[str, Any]) -> Any:
        amount = params.get("amount")
        if type(amount) is not int or amount <= 0:
            raise Reject(-31611, "Неверная сумма")
        receipt_id = f"{next(self._ids):024x}"
        self._receipts[receipt_id] = {
            "_id": receipt_id, "create_time": int(time.time() * 1000), "pay_time": 0, "cancel_time": 0, "state": 0,
            "type": 2, "external": False, "operation": -1, "error": None, "description": params.get("description", ""),
            "detail": params.get("detail"), "amount": amount, "currency": 860, "commission": 0,
            "account": [{"name": name, "title": "Номер заказа", "value": value, "main": True}
                        for name, value in params["account"].items()],
            "card": None, "merchant": {"_id": self.merchant_id, "name": "test",
                                       "epos": {"merchantId": "106600000050000", "terminalId": "20660000"}},
            "meta": {"source": "subscribe"}, "processing_id": None,
        }
        return {"receipt": self._receipts[receipt_id]}

    def _receipts_pay(self, params: dict[str, Any]) -> Any:
        receipt, card = self._receipt(params), self._card(params)
        if card["balance"] < receipt["amount"]:
            raise Reject(-31303, {"ru": "Недостаточно средств на карте", "uz": "Kartada mablag' yetarli emas"})
        card["balance"] -= receipt["amount"]
        receipt.update(state=4, pay_time=int(time.time() * 1000),
                       card={"number": card["pan"][:6] + "******" + card["pan"][-4:], "expire": "9903"})
        return {"receipt": receipt}

    def _receipts_send(self, params: dict[str, Any]) -> Any:
        self._receipt(params)
        return {"success": True}

    def _receipts_cancel(self, params: dict[str, Any]) -> Any:
        receipt = self._receipt(params)
        receipt["state"] = 21 if receipt["state"] == 4 else 50
        return {"receipt": receipt}

    def _receipts_check(self, params: dict[str, Any]) -> Any:
        return {"state": self._receipt(params)["state"]}

    def _receipts_get(self, params: dict[str, Any]) -> Any:
        return {"receipt": self._receipt(params)}

    def _receipts_get_all(self, params: dict[str, Any]) -> Any:
        if not 1 <= params["count"] <= 50:
            raise Reject(-32600, "count")
        rows = [r for r in self._receipts.values() if params["from"] <= r["create_time"] <= params["to"]]
        return rows[params["offset"]:params["offset"] + params["count"]]


# ---- fixtures and helpers --------------------------------------------------------------------------------------


@dataclass
class Env:
    payme: FakePayme
    client: PaymeClient


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    payme = FakePayme()
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
    await client.receipts_get_all(10, 0, int(time.time() * 1000) + 1, 0)
    await client.receipts_cancel(receipt.id)
    await client.cards_remove(token)

    seen = {entry.method: entry.auth for entry in env.payme.ledger}
    assert set(seen) == ID_ONLY | KEYED
    assert {method for method, auth in seen.items() if auth == MERCHANT} == ID_ONLY
    assert {method for method, auth in seen.items() if auth == f"{MERCHANT}:{KEY}"} == KEYED


async def test_request_ids_increase(env: Env):
    token = await verified_token(env.client)
    await env.client.cards_check(token)
    ids = [entry.id for entry in env.payme.ledger]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids)


async def test_a_wrong_key_is_rejected_by_the_provider(env: Env):
    async with make_http_client(read=0.5, connect=0.5) as http:
        client = PaymeClient(http, base_url=env.payme.base_url, merchant_id=MERCHANT, key="wrong")
        created = await client.cards_create(RICH_CARD, EXPIRY)  # needs no key
        with pytest.raises(ProviderRejected) as error:
            await client.cards_check(created.token)
    assert error.value.code == "-32504" and error.value.message


# ---- errors ----------------------------------------------------------------------------------------------------


async def test_error_is_a_rejection_with_the_code_and_the_message(env: Env):
    with pytest.raises(PaymeRejected) as error:
        await env.client.cards_create(EXPIRED_CARD, EXPIRY)
    assert error.value.code == "-31301"
    assert error.value.message == "Срок действия карты истёк"  # localized messages: ru first, all kept
    assert error.value.messages == {"ru": "Срок действия карты истёк", "uz": "Karta muddati tugagan",
                                    "en": "Card expired"}
    assert EXPIRED_CARD not in str(error.value)

    created = await env.client.cards_create(RICH_CARD, EXPIRY)
    with pytest.raises(ProviderRejected) as error:
        await env.client.cards_verify(created.token, WRONG_CODE)
    assert (error.value.code, error.value.message) == ("-31103", "Неверный код. Попробуйте ещё раз.")
    assert WRONG_CODE not in str(error.value) and created.token not in str(error.value)

    token = await verified_token(env.client, POOR_CARD)
    receipt = await env.client.receipts_create(15_000, ACCOUNT)
    with pytest.raises(ProviderRejected) as error:
        await env.client.receipts_pay(receipt.id, token)
    assert (error.value.code, error.value.message) == ("-31303", "Недостаточно средств на карте")
    assert await env.client.receipts_check(receipt.id) == ReceiptState.CREATED


async def test_unreadable_answers_are_outcome_unknown_and_plain_4xx_a_rejection():
    """Shapes the stand-in never produces, so only the transport is faked here."""

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
    assert env.payme.calls("receipts.create")[0].params["amount"] == 400_000
    assert receipt.amount == 400_000 and isinstance(receipt.amount, int)


async def test_get_all_count_is_at_most_50(env: Env):
    now = int(time.time() * 1000)
    for count in (GET_ALL_MAX + 1, 0, -1):
        with pytest.raises(ValueError):
            await env.client.receipts_get_all(count, 0, now, 0)
    with pytest.raises(TypeError):
        await env.client.receipts_get_all(10.0, 0, now, 0)  # type: ignore[arg-type]
    assert env.payme.calls("receipts.get_all") == []
    for _ in range(3):
        await env.client.receipts_create(1_000, ACCOUNT)
    assert len(await env.client.receipts_get_all(GET_ALL_MAX, 0, now + 60_000, 0)) == 3
    page = await env.client.receipts_get_all(2, 0, now + 60_000, 2)
    assert len(page) == 1
    assert env.payme.calls("receipts.get_all")[-1].params == {"count": 2, "from": 0, "to": now + 60_000,
                                                              "offset": 2}


# ---- transport faults ------------------------------------------------------------------------------------------


async def test_closed_port_is_unavailable():
    async with make_http_client(read=0.5, connect=0.5) as http:
        client = PaymeClient(http, base_url=f"http://127.0.0.1:{closed_port()}/api", merchant_id=MERCHANT, key=KEY)
        with pytest.raises(ProviderUnavailable):
            await client.receipts_check("r")
        with pytest.raises(ProviderUnavailable):
            await client.receipts_pay("r", "token")


@pytest.mark.parametrize("mode", ["timeout", "drop", "500"])
async def test_pay_without_an_answer_is_outcome_unknown_and_not_resent(env: Env, mode: str):
    token = await verified_token(env.client)
    receipt = await env.client.receipts_create(15_000, ACCOUNT)
    env.payme.fail_next("receipts.pay", mode)
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.receipts_pay(receipt.id, token)
    assert len(env.payme.calls("receipts.pay")) == 1
    assert await env.client.receipts_check(receipt.id) == ReceiptState.CREATED  # what the caller does instead


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
    assert await env.client.receipts_check(receipt.id) == 0
    first, second = env.payme.calls("receipts.check")
    assert second.id > first.id


async def test_idempotent_read_fails_after_the_second_attempt(env: Env):
    env.payme.fail_next("cards.check", "500")
    env.payme.fail_next("cards.check", "500")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.cards_check("token")
    assert len(env.payme.calls("cards.check")) == 2


async def test_idempotent_read_that_times_out_is_outcome_unknown_without_resend(env: Env):
    env.payme.fail_next("receipts.get", "timeout")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.receipts_get("r")
    assert len(env.payme.calls("receipts.get")) == 1


# ---- models over a whole flow ----------------------------------------------------------------------------------


async def test_models_over_a_whole_flow(env: Env, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    client = env.client

    created = await client.cards_create("8600 0691 9540 6311", "03/99", save=True)  # spaces and slash dropped
    assert env.payme.calls("cards.create")[0].params == {"card": {"number": RICH_CARD, "expire": EXPIRY},
                                                         "save": True}
    assert (created.number, created.verify, created.recurrent) == ("860006******6311", False, True)
    assert created.token not in repr(created)  # a credential: never in a repr, a traceback or a log
    code = await client.cards_get_verify_code(created.token)
    assert code.sent and code.phone == "99890*****27" and code.wait == 60_000
    card = await client.cards_verify(created.token, CODE)
    assert card.verify and card.token != created.token
    assert (await client.cards_check(card.token)).verify

    receipt = await client.receipts_create(400_000, ACCOUNT, description="Electricity", detail={"items": []})
    assert receipt.state == ReceiptState.CREATED and not receipt.final and receipt.create_time > 0
    assert [(item.name, item.value) for item in receipt.account] == [("order_id", "2326")]
    assert receipt.merchant and receipt.merchant.epos and receipt.merchant.epos.terminal_id == "20660000"
    assert env.payme.calls("receipts.create")[0].params["description"] == "Electricity"

    paid = await client.receipts_pay(receipt.id, card.token, phone=PHONE)
    assert env.payme.calls("receipts.pay")[0].params == {"id": receipt.id, "token": card.token,
                                                         "payer": {"phone": PHONE}}
    assert paid.paid and paid.final and paid.pay_time > 0 and paid.card and paid.card.number.endswith("6311")
    assert await client.receipts_check(receipt.id) == ReceiptState.PAID
    assert (await client.receipts_get(receipt.id)).id == receipt.id
    assert await client.receipts_send(receipt.id, PHONE) is True
    cancelled = await client.receipts_cancel(receipt.id)
    assert cancelled.state == ReceiptState.CANCEL_QUEUED

    unpaid = await client.receipts_create(1_000, ACCOUNT)
    assert (await client.receipts_cancel(unpaid.id)).state == ReceiptState.CANCELLED

    assert await client.cards_remove(card.token) is True
    with pytest.raises(ProviderRejected) as error:
        await client.cards_check(card.token)
    assert error.value.code == "-31400"

    for secret in (RICH_CARD, "8600 0691 9540 6311", CODE, created.token, card.token, KEY):
        assert secret not in caplog.text
    assert "payme receipts.pay -> 200" in caplog.text
