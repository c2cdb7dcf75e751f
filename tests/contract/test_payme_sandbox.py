"""The Payme Subscribe emulator against seeds 000-002 and providers.md, over real HTTP: key sets copied from the
seed's examples, the JSON-RPC envelopes, X-Auth rules, the test cards' scenarios, receipt states and the faults."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from bot.sandbox.payme import PaymeSandbox

# Key sets as seed 000's examples show them.
CARD = {"number", "expire", "token", "recurrent", "verify", "type"}
VERIFY_CODE = {"sent", "phone", "wait"}
RECEIPT = {"_id", "create_time", "pay_time", "cancel_time", "state", "type", "external", "operation", "category",
           "error", "description", "detail", "amount", "currency", "commission", "account", "card", "merchant", "meta",
           "processing_id"}
ACCOUNT_ITEM = {"name", "title", "value", "main"}
MERCHANT = {"_id", "name", "organization", "address", "business_id", "epos", "date", "logo", "type", "terms"}
EPOS = {"merchantId", "terminalId"}
META = {"source", "owner"}
PAID_CARD = {"number", "expire"}

GOOD, POOR = "8600069195406311", "8600495473316478"  # 500 000 000 and 2 000 000 tiyin
CODE = "666666"
ID_ONLY, FULL = "sandbox-merchant", "sandbox-merchant:sandbox-key"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # 2027-01-15

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sandbox(clock: Clock):
    emulator = PaymeSandbox(clock=clock, slow_delay=0.2)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def http(sandbox: PaymeSandbox):
    async with httpx.AsyncClient(timeout=httpx.Timeout(5, connect=1)) as client:
        yield client


class Rpc:
    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url, self.next_id = http, url, 0

    async def raw(self, method: str, params: dict | None = None, auth: str | None = FULL,
                  **headers: str) -> httpx.Response:
        self.next_id += 1
        if auth is not None:
            headers["X-Auth"] = auth
        return await self.http.post(self.url, headers=headers,
                                    json={"id": self.next_id, "method": method, "params": params or {}})

    async def __call__(self, method: str, params: dict | None = None, auth: str | None = FULL, **headers: str):
        answer = await self.raw(method, params, auth, **headers)
        body = answer.json()
        assert answer.status_code == 200 and set(body) == {"jsonrpc", "id", "result"}, body
        assert body["jsonrpc"] == "2.0" and body["id"] == self.next_id
        return body["result"]

    async def error(self, method: str, params: dict | None = None, auth: str | None = FULL, **headers: str) -> dict:
        answer = await self.raw(method, params, auth, **headers)
        body = answer.json()
        assert answer.status_code == 200 and set(body) == {"id", "error"}, body  # seed 001's error envelope
        assert body["id"] == self.next_id and set(body["error"]) == {"code", "message"} and body["error"]["message"]
        return body["error"]


@pytest.fixture
def rpc(http: httpx.AsyncClient, sandbox: PaymeSandbox) -> Rpc:
    return Rpc(http, sandbox.base_url)


async def bind(rpc: Rpc, number: str = GOOD, save: bool = True) -> str:
    card = (await rpc("cards.create", {"card": {"number": number, "expire": "0399"}, "save": save}, ID_ONLY))["card"]
    await rpc("cards.get_verify_code", {"token": card["token"]}, ID_ONLY)
    return (await rpc("cards.verify", {"token": card["token"], "code": CODE}, ID_ONLY))["card"]["token"]


async def new_receipt(rpc: Rpc, amount: int = 400_000, **extra: object) -> dict:
    return (await rpc("receipts.create", {"amount": amount, "account": {"transaction": "2326"}, **extra}))["receipt"]


def assert_receipt_keys(receipt: dict) -> None:
    assert set(receipt) == RECEIPT
    assert set(receipt["merchant"]) == MERCHANT and set(receipt["merchant"]["epos"]) == EPOS
    assert all(set(item) == ACCOUNT_ITEM for item in receipt["account"])


# ---- cards -----------------------------------------------------------------------------------------------------------


async def test_bind_a_card_like_the_seed(rpc, sandbox):
    created = await rpc("cards.create", {"card": {"number": GOOD, "expire": "0399"}, "save": True}, ID_ONLY)
    card = created["card"]
    assert set(created) == {"card"} and set(card) == CARD
    assert (card["number"], card["expire"], card["recurrent"], card["verify"]) == ("860006******6311", "03/99",
                                                                                  True, False)
    sent = await rpc("cards.get_verify_code", {"token": card["token"]}, ID_ONLY)
    assert set(sent) == VERIFY_CODE and sent == {"sent": True, "phone": "99890*****66", "wait": 60000}
    verified = (await rpc("cards.verify", {"token": card["token"], "code": CODE}, ID_ONLY))["card"]
    assert set(verified) == CARD and verified["verify"] is True and verified["token"] == card["token"]
    checked = (await rpc("cards.check", {"token": card["token"]}))["card"]
    assert set(checked) == CARD and checked["verify"] is True
    assert await rpc("cards.remove", {"token": card["token"]}) == {"success": True}
    assert (await rpc.error("cards.check", {"token": card["token"]}))["code"] == -31400
    assert sandbox.card_balance(card["token"]) == 500_000_000  # still readable after removal


async def test_front_methods_take_the_id_alone_or_the_full_header(rpc):
    number = {"card": {"number": GOOD, "expire": "03/99"}}
    assert set((await rpc("cards.create", number, ID_ONLY))["card"]) == CARD
    assert set((await rpc("cards.create", number, FULL))["card"]) == CARD
    for auth in (None, "other-merchant", f"{ID_ONLY}:wrong", "other-merchant:sandbox-key"):
        assert (await rpc.error("cards.create", number, auth))["code"] == -32504


@pytest.mark.parametrize("method", ["cards.check", "cards.remove", "receipts.create", "receipts.pay",
                                    "receipts.send", "receipts.cancel", "receipts.check", "receipts.get",
                                    "receipts.get_all"])
async def test_server_methods_refuse_the_id_alone(rpc, method):
    assert (await rpc.error(method, {"token": "x", "id": "x"}, ID_ONLY))["code"] == -32504
    assert (await rpc.error(method, {"token": "x", "id": "x"}, None))["code"] == -32504


@pytest.mark.parametrize("number, expire, code", [
    ("8600060921090842", "0399", -31301),  # SMS not connected
    ("3333336415804657", "0399", -31301),  # expired
    ("4444445987459073", "0399", -31301),  # blocked
    ("8600143417770323", "0399", -32400),  # unknown system error
    (GOOD, "0499", -31300),  # a test card takes 03/99 only
    ("8600069195406312", "0399", -31300),  # fails Luhn
    ("4111111111111111", "1230", -31300),  # not UzCard / HUMO
    ("8600000000000007", "1226", -31301),  # a valid card past its expiry (the clock says 2027)
    ("86000000000000a7", "1230", -31300),
])
async def test_card_scenarios(rpc, number, expire, code):
    assert (await rpc.error("cards.create", {"card": {"number": number, "expire": expire}}, ID_ONLY))["code"] == code


async def test_scenario_messages_are_distinct_and_localized(rpc):
    def params(number: str) -> dict:
        return {"card": {"number": number, "expire": "0399"}}

    expired = await rpc.error("cards.create", params("3333336415804657"), ID_ONLY)
    blocked = await rpc.error("cards.create", params("4444445987459073"), ID_ONLY)
    assert expired["message"] != blocked["message"] and "истёк" in expired["message"]
    english = await rpc.error("cards.create", params("3333336415804657"), ID_ONLY, **{"Accept-Language": "en-US"})
    uzbek = await rpc.error("cards.create", params("3333336415804657"), ID_ONLY, **{"Accept-Language": "uz"})
    assert english["message"] == "The card has expired" and uzbek["message"] not in (english["message"],
                                                                                    expired["message"])


async def test_slow_card_waits_then_fails(rpc, sandbox):
    started = time.monotonic()
    error = await rpc.error("cards.create", {"card": {"number": "8600134301849596", "expire": "0399"}}, ID_ONLY)
    assert error["code"] == -31002 and time.monotonic() - started >= sandbox.slow_delay


async def test_other_valid_cards_bind(rpc, sandbox):
    token = await bind(rpc, "9860000000000000")
    assert sandbox.card_balance(token) == 100_000_000


async def test_wait_before_a_new_code_and_the_code_ttl(rpc, clock):
    token = (await rpc("cards.create", {"card": {"number": GOOD, "expire": "0399"}}, ID_ONLY))["card"]["token"]
    assert (await rpc.error("cards.verify", {"token": token, "code": CODE}, ID_ONLY))["code"] == -31101  # not asked
    await rpc("cards.get_verify_code", {"token": token}, ID_ONLY)
    clock.now += 59.9
    assert (await rpc.error("cards.get_verify_code", {"token": token}, ID_ONLY))["code"] == -31110
    clock.now += 0.1
    assert (await rpc("cards.get_verify_code", {"token": token}, ID_ONLY))["wait"] == 60000
    clock.now += 121
    assert (await rpc.error("cards.verify", {"token": token, "code": CODE}, ID_ONLY))["code"] == -31101
    await rpc("cards.get_verify_code", {"token": token}, ID_ONLY)
    assert (await rpc("cards.verify", {"token": token, "code": CODE}, ID_ONLY))["card"]["verify"] is True


async def test_three_wrong_codes_lock_for_fifteen_minutes(rpc, clock):
    token = (await rpc("cards.create", {"card": {"number": GOOD, "expire": "0399"}}, ID_ONLY))["card"]["token"]
    await rpc("cards.get_verify_code", {"token": token}, ID_ONLY)
    codes = [(await rpc.error("cards.verify", {"token": token, "code": "000000"}, ID_ONLY))["code"]
             for _ in range(3)]
    assert codes == [-31103, -31103, -31102]
    assert (await rpc.error("cards.verify", {"token": token, "code": CODE}, ID_ONLY))["code"] == -31102
    assert (await rpc.error("cards.get_verify_code", {"token": token}, ID_ONLY))["code"] == -31102
    clock.now += 15 * 60
    await rpc("cards.get_verify_code", {"token": token}, ID_ONLY)
    assert (await rpc("cards.verify", {"token": token, "code": CODE}, ID_ONLY))["card"]["verify"] is True


# ---- receipts --------------------------------------------------------------------------------------------------------


async def test_create_pay_check_like_the_seed(rpc, sandbox, clock):
    token = await bind(rpc)
    receipt = await new_receipt(rpc, description="Electricity", detail={"items": []})
    assert_receipt_keys(receipt)
    assert set(receipt["meta"]) == META and receipt["card"] is None and receipt["processing_id"] is None
    assert (receipt["state"], receipt["amount"], receipt["currency"], receipt["pay_time"]) == (0, 400_000, 860, 0)
    assert receipt["create_time"] == 1_800_000_000_000 and receipt["description"] == "Electricity"
    assert receipt["account"] == [{"name": "transaction", "title": "Номер чека", "value": "2326", "main": True}]
    assert await rpc("receipts.check", {"id": receipt["_id"]}) == {"state": 0}

    clock.now += 1
    paid = (await rpc("receipts.pay", {"id": receipt["_id"], "token": token, "payer": {"phone": "998901304527"}}))
    assert set(paid) == {"receipt"}
    assert_receipt_keys(paid["receipt"])
    assert paid["receipt"]["state"] == 4 and paid["receipt"]["pay_time"] == 1_800_000_001_000
    assert set(paid["receipt"]["card"]) == PAID_CARD
    assert paid["receipt"]["card"] == {"number": "860006******6311", "expire": "9903"}
    assert sandbox.card_balance(token) == 500_000_000 - 400_000
    assert await rpc("receipts.check", {"id": receipt["_id"]}) == {"state": 4}
    got = (await rpc("receipts.get", {"id": receipt["_id"]}))["receipt"]
    assert got == sandbox.receipt(receipt["_id"]) and got["state"] == 4
    again = await rpc.error("receipts.pay", {"id": receipt["_id"], "token": token})
    assert again["code"] == -31601 and sandbox.card_balance(token) == 500_000_000 - 400_000


async def test_insufficient_funds(rpc, sandbox):
    token = await bind(rpc, POOR)
    receipt = await new_receipt(rpc, 2_000_001)
    assert (await rpc.error("receipts.pay", {"id": receipt["_id"], "token": token}))["code"] == -31303
    assert sandbox.card_balance(token) == 2_000_000 and sandbox.receipt(receipt["_id"])["state"] == 0
    exact = await new_receipt(rpc, 2_000_000)
    await rpc("receipts.pay", {"id": exact["_id"], "token": token})
    assert sandbox.card_balance(token) == 0


async def test_pay_refusals(rpc):
    unverified = (await rpc("cards.create", {"card": {"number": GOOD, "expire": "0399"}}, ID_ONLY))["card"]["token"]
    receipt = await new_receipt(rpc)
    assert (await rpc.error("receipts.pay", {"id": receipt["_id"], "token": unverified}))["code"] == -31630
    assert (await rpc.error("receipts.pay", {"id": receipt["_id"], "token": "nope"}))["code"] == -31400
    token = await bind(rpc)
    assert (await rpc.error("receipts.pay", {"id": "6311946bc4420cbf2712a247", "token": token}))["code"] == -31602


async def test_a_one_time_token_is_spent_by_payment(rpc):
    token = await bind(rpc, save=False)
    assert (await rpc("cards.check", {"token": token}))["card"]["recurrent"] is False
    await rpc("receipts.pay", {"id": (await new_receipt(rpc))["_id"], "token": token})
    assert (await rpc.error("cards.check", {"token": token}))["code"] == -31400


@pytest.mark.parametrize("params, code", [
    ({"amount": 4000.5, "account": {"order_id": 1}}, -31611),
    ({"amount": 0, "account": {"order_id": 1}}, -31611),
    ({"amount": True, "account": {"order_id": 1}}, -31611),
    ({"amount": 4000}, -32600),
    ({"amount": 4000, "account": {}}, -32600),
    ({"amount": 4000, "account": {"order_id": [1]}}, -32600),
    ({"amount": 4000, "account": {"order_id": 1}, "description": 5}, -32600),
])
async def test_create_refusals(rpc, params, code):
    assert (await rpc.error("receipts.create", params))["code"] == code


async def test_cancel_a_paid_receipt_queues_then_settles(rpc, sandbox, clock):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    await rpc("receipts.pay", {"id": receipt["_id"], "token": token})
    cancelled = (await rpc("receipts.cancel", {"id": receipt["_id"]}))["receipt"]
    assert_receipt_keys(cancelled)
    assert cancelled["state"] == 21 and cancelled["cancel_time"] == 0
    assert set(cancelled["meta"]) == META | {"source_cancel"}
    assert sandbox.card_balance(token) == 500_000_000 - 400_000  # not refunded while queued
    clock.now += 5
    assert await rpc("receipts.check", {"id": receipt["_id"]}) == {"state": 50}
    assert sandbox.receipt(receipt["_id"])["cancel_time"] == 1_800_000_005_000
    assert sandbox.card_balance(token) == 500_000_000
    assert (await rpc.error("receipts.cancel", {"id": receipt["_id"]}))["code"] == -31601


async def test_cancel_settles_after_n_reads(rpc, sandbox):
    sandbox.cancel_settles_after = 3
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    await rpc("receipts.pay", {"id": receipt["_id"], "token": token})
    await rpc("receipts.cancel", {"id": receipt["_id"]})
    states = [(await rpc("receipts.check", {"id": receipt["_id"]}))["state"],
              (await rpc("receipts.get", {"id": receipt["_id"]}))["receipt"]["state"],
              (await rpc("receipts.check", {"id": receipt["_id"]}))["state"]]
    assert states == [21, 21, 50]


async def test_cancel_an_unpaid_receipt_is_immediate(rpc, sandbox):
    receipt = await new_receipt(rpc)
    cancelled = (await rpc("receipts.cancel", {"id": receipt["_id"]}))["receipt"]
    assert cancelled["state"] == 50 and cancelled["cancel_time"] > 0
    token = await bind(rpc)
    assert (await rpc.error("receipts.pay", {"id": receipt["_id"], "token": token}))["code"] == -31601


async def test_send(rpc):
    receipt = await new_receipt(rpc)
    assert await rpc("receipts.send", {"id": receipt["_id"], "phone": "998901304527"}) == {"success": True}
    assert (await rpc.error("receipts.send", {"id": receipt["_id"], "phone": "+99890"}))["code"] == -32600
    assert (await rpc.error("receipts.send", {"id": "nope", "phone": "998901304527"}))["code"] == -31602


async def test_get_all_pages_newest_first(rpc, clock):
    ids = []
    for n in range(5):
        clock.now += 60
        receipt = await rpc("receipts.create", {"amount": 1000 + n, "account": {"transaction": 2320 + n}})
        ids.append(receipt["receipt"]["_id"])
    start, end = 1_800_000_000_000, 1_800_000_300_000
    first = await rpc("receipts.get_all", {"count": 2, "from": start, "to": end, "offset": 0})
    assert [r["_id"] for r in first] == [ids[4], ids[3]]
    assert all(set(r) == RECEIPT for r in first)
    item = first[0]["account"][0]
    assert item == {"name": "transaction", "title": {"ru": "Номер чека", "uz": "Chek raqami"}, "value": 2324,
                    "main": True}
    assert first[0]["merchant"]["type"] == {"ru": "Internet", "uz": "Internet"}
    rest = await rpc("receipts.get_all", {"count": 50, "from": start, "to": end, "offset": 2})
    assert [r["_id"] for r in rest] == [ids[2], ids[1], ids[0]]
    window = await rpc("receipts.get_all", {"count": 50, "from": start + 120_000, "to": start + 180_000, "offset": 0})
    assert [r["_id"] for r in window] == [ids[2], ids[1]]
    assert await rpc("receipts.get_all", {"count": 50, "from": start, "to": end, "offset": 5}) == []
    for bad in ({"count": 51}, {"count": 0}, {"offset": -1}, {"from": "x"}, {"to": start - 1}):
        params = {"count": 2, "from": start, "to": end, "offset": 0, **bad}
        assert (await rpc.error("receipts.get_all", params))["code"] == -32600


# ---- protocol --------------------------------------------------------------------------------------------------------


async def test_protocol_errors(http, sandbox, rpc):
    got = await http.get(sandbox.base_url)
    assert got.status_code == 200 and got.json() == {"id": None, "error": {"code": -32300,
                                                                           "message": got.json()["error"]["message"]}}
    broken = await http.post(sandbox.base_url, content=b"{nope", headers={"X-Auth": FULL})
    assert broken.status_code == 200 and broken.json()["error"]["code"] == -32700
    assert (await rpc.error("cards.steal")) == {"code": -32601, "message": "Метод не найден"}
    no_method = await http.post(sandbox.base_url, json={"id": 9, "params": {}}, headers={"X-Auth": FULL})
    assert no_method.json() == {"id": 9, "error": no_method.json()["error"]} and no_method.json()["error"]["code"] \
        == -32600
    bad_params = await http.post(sandbox.base_url, json={"id": 9, "method": "cards.check", "params": [1]},
                                 headers={"X-Auth": FULL})
    assert bad_params.json()["error"]["code"] == -32600


async def test_trailing_slash_and_method_in_path(http, sandbox):
    body = {"id": 1, "method": "cards.create", "params": {"card": {"number": GOOD, "expire": "0399"}}}
    for url in (sandbox.base_url + "/", sandbox.base_url + "/cards.create"):
        answer = await http.post(url, json=body, headers={"X-Auth": ID_ONLY})
        assert set(answer.json()["result"]["card"]) == CARD
    mismatch = await http.post(sandbox.base_url + "/cards.verify", json=body, headers={"X-Auth": ID_ONLY})
    assert mismatch.json()["error"]["code"] == -32600


async def test_cors(http, sandbox, rpc):
    preflight = await http.request("OPTIONS", sandbox.base_url, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-auth"})
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-auth"} <= allowed and "POST" in preflight.headers["Access-Control-Allow-Methods"]
    answer = await rpc.raw("cards.create", {"card": {"number": GOOD, "expire": "0399"}}, ID_ONLY,
                           Origin="https://shop.example")
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    refused = await rpc.raw("receipts.get", {"id": "x"}, ID_ONLY)
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


# ---- ledger and faults -----------------------------------------------------------------------------------------------


async def test_ledger_records_calls_and_auth(rpc, sandbox):
    token = await bind(rpc)
    await rpc.error("receipts.create", {"amount": 1, "account": {"a": "b"}}, ID_ONLY)
    assert [e.method for e in sandbox.ledger] == ["cards.create", "cards.get_verify_code", "cards.verify",
                                                  "receipts.create"]
    assert [e.auth for e in sandbox.ledger] == ["id", "id", "id", "id"]
    entry = sandbox.calls("cards.verify")[0]
    assert entry.body["params"] == {"token": token, "code": CODE} and entry.status == 200
    assert entry.http_method == "POST" and entry.path == "/api"
    assert sandbox.calls("receipts.create")[0].response["error"]["code"] == -32504
    text = repr(sandbox.ledger)
    assert GOOD not in text and token not in text and "860006******6311" in text


async def test_wait_for_calls(rpc, sandbox):
    waiter = asyncio.create_task(sandbox.wait_for_calls("cards.create", 2, timeout=5))
    await bind(rpc)
    assert not waiter.done()
    await bind(rpc)
    assert len(await waiter) == 2
    with pytest.raises(TimeoutError):
        await sandbox.wait_for_calls("receipts.pay", 1, timeout=0.05)


@pytest.mark.parametrize("apply, charged", [(True, True), (False, False)])
async def test_500(rpc, sandbox, apply, charged):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    sandbox.fail_next("receipts.pay", "500", apply=apply)
    answer = await rpc.raw("receipts.pay", {"id": receipt["_id"], "token": token})
    assert answer.status_code == 500
    assert (await rpc("receipts.check", {"id": receipt["_id"]}))["state"] == (4 if charged else 0)
    assert (sandbox.card_balance(token) < 500_000_000) is charged
    assert [e.status for e in sandbox.calls("receipts.pay")] == [500]


@pytest.mark.parametrize("apply, charged", [(True, True), (False, False)])
async def test_drop(rpc, sandbox, apply, charged):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    sandbox.fail_next("receipts.pay", "drop", apply=apply)
    with pytest.raises(httpx.RemoteProtocolError):
        await rpc.raw("receipts.pay", {"id": receipt["_id"], "token": token})
    assert (await rpc("receipts.check", {"id": receipt["_id"]}))["state"] == (4 if charged else 0)
    assert [e.status for e in sandbox.calls("receipts.pay")] == [0]


async def test_timeout_after_the_effect(rpc, sandbox, http):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    sandbox.fail_next("receipts.pay", "timeout")
    with pytest.raises(httpx.ReadTimeout):
        await http.post(sandbox.base_url, json={"id": 1, "method": "receipts.pay",
                                                "params": {"id": receipt["_id"], "token": token}},
                        headers={"X-Auth": FULL}, timeout=httpx.Timeout(0.3, connect=1))
    assert sandbox.receipt(receipt["_id"])["state"] == 4


async def test_timeout_before_the_effect_is_released_at_stop(clock):
    sandbox = PaymeSandbox(clock=clock)
    await sandbox.start()
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, connect=1)) as http:
        sandbox.fail_next("cards.create", "timeout", apply=False)
        held = asyncio.create_task(http.post(sandbox.base_url, headers={"X-Auth": ID_ONLY}, json={
            "id": 1, "method": "cards.create", "params": {"card": {"number": GOOD, "expire": "0399"}}}))
        await sandbox.wait_for_calls("cards.create")
        await sandbox.stop()
        with pytest.raises(httpx.HTTPError):
            await held
    assert sandbox.calls("cards.create")[0].status == 0


async def test_faults_hit_only_their_method_and_queue(rpc, sandbox):
    sandbox.fail_next("receipts.get", "500")
    sandbox.fail_next("receipts.get", "500")
    receipt = await new_receipt(rpc)
    assert (await rpc.raw("receipts.check", {"id": receipt["_id"]})).status_code == 200
    assert (await rpc.raw("receipts.get", {"id": receipt["_id"]})).status_code == 500
    assert (await rpc.raw("receipts.get", {"id": receipt["_id"]})).status_code == 500
    assert (await rpc.raw("receipts.get", {"id": receipt["_id"]})).status_code == 200
    with pytest.raises(ValueError):
        sandbox.fail_next("receipts.get", "slow")  # type: ignore[arg-type]


async def test_nothing_is_logged_per_request(rpc, sandbox, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    await bind(rpc)
    sandbox.fail_next("cards.check", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await rpc.raw("cards.check", {"token": "x"})
    assert not [r for r in caplog.records if r.name.startswith("aiohttp") and r.levelno >= logging.INFO]
    assert GOOD not in caplog.text


# ---- faults on command: 429, error, garbage, hold ---------------------------------------------------------------------


async def test_429_answers_retry_after_with_a_json_rpc_error_and_does_no_work(rpc, sandbox):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    sandbox.fail_next("receipts.pay", "429", retry_after="Fri, 15 Jan 2027 12:00:00 GMT")
    answer = await rpc.raw("receipts.pay", {"id": receipt["_id"], "token": token}, **{"Accept-Language": "en"})
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "Fri, 15 Jan 2027 12:00:00 GMT"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.json() == {"id": rpc.next_id, "error": {"code": -32400,
                                                          "message": "Too many requests. Try again later"}}
    assert sandbox.receipt(receipt["_id"])["state"] == 0 and sandbox.card_balance(token) == 500_000_000
    [entry] = sandbox.calls("receipts.pay")
    assert (entry.status, entry.fault) == (429, "429")
    sandbox.fail_next("receipts.check", "429", retry_after=5, code=-31001)
    again = await rpc.raw("receipts.check", {"id": receipt["_id"]})
    assert (again.status_code, again.headers["Retry-After"], again.json()["error"]["code"]) == (429, "5", -31001)


@pytest.mark.parametrize("code, number", [(-31303, -31303), ("insufficient_funds", -31303), (-31001, -31001),
                                          (-32400, -32400)])
async def test_error_answers_seed_001s_envelope_with_http_200(rpc, sandbox, code, number):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    sandbox.fail_next("receipts.pay", "error", code=code)
    error = await rpc.error("receipts.pay", {"id": receipt["_id"], "token": token})
    assert error["code"] == number
    assert sandbox.receipt(receipt["_id"])["state"] == 0 and sandbox.card_balance(token) == 500_000_000
    [entry] = sandbox.calls("receipts.pay")
    assert (entry.status, entry.fault, entry.response["error"]) == (200, "error", error)


async def test_error_after_the_work(rpc, sandbox):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    sandbox.fail_next("receipts.pay", "error", code=-31002, apply=True)
    assert (await rpc.error("receipts.pay", {"id": receipt["_id"], "token": token}))["code"] == -31002
    assert sandbox.receipt(receipt["_id"])["state"] == 4  # paid, whatever the answer said
    assert sandbox.card_balance(token) == 500_000_000 - 400_000


async def test_fault_orders_are_checked_where_they_are_given(sandbox):
    for code in (-1, "nope", None, True):
        with pytest.raises(ValueError):
            sandbox.fail_next("receipts.pay", "error", code=code)
    with pytest.raises(ValueError):
        sandbox.fail_next("receipts.pay", "429", apply=True)
    with pytest.raises(ValueError):
        sandbox.fail_next("receipts.pay", "hold")
    assert sandbox._faults == []


@pytest.mark.parametrize("apply, charged", [(False, False), (True, True)])
async def test_garbage(rpc, sandbox, apply, charged):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    sandbox.fail_next("receipts.pay", "garbage", apply=apply)
    answer = await rpc.raw("receipts.pay", {"id": receipt["_id"], "token": token})
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()
    assert answer.text.startswith('{"jsonrpc": "2.0"') if charged else "<html>" in answer.text
    assert sandbox.receipt(receipt["_id"])["state"] == (4 if charged else 0)
    assert (sandbox.card_balance(token) < 500_000_000) is charged
    [entry] = sandbox.calls("receipts.pay")
    assert (entry.status, entry.fault, entry.response) == (200, "garbage", answer.text)


@pytest.mark.parametrize("apply", [False, True])
async def test_hold_parks_before_or_after_the_work_until_released(rpc, sandbox, apply):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    hold = sandbox.hold_next("receipts.pay", apply=apply)
    answer = asyncio.create_task(rpc.raw("receipts.pay", {"id": receipt["_id"], "token": token}))
    await hold.reached()
    [parked] = sandbox.calls("receipts.pay")
    assert (parked.status, parked.fault) == (0, "hold") and not answer.done()
    assert sandbox.receipt(receipt["_id"])["state"] == (4 if apply else 0)
    assert (sandbox.card_balance(token) < 500_000_000) is apply
    hold.release()
    answered = await asyncio.wait_for(answer, 5)
    assert answered.status_code == 200 and answered.json()["result"]["receipt"]["state"] == 4
    assert sandbox.card_balance(token) == 500_000_000 - 400_000  # charged once
    [entry] = sandbox.calls("receipts.pay")
    assert (entry.status, entry.fault, entry.response) == (200, "hold", answered.json())


@pytest.mark.parametrize("apply", [False, True])
async def test_hold_released_without_proceeding(rpc, sandbox, apply):
    token = await bind(rpc)
    receipt = await new_receipt(rpc)
    hold = sandbox.hold_next("receipts.pay", apply=apply)
    answer = asyncio.create_task(rpc.raw("receipts.pay", {"id": receipt["_id"], "token": token}))
    await hold.reached()
    hold.release(proceed=False)
    with pytest.raises(httpx.RemoteProtocolError):
        await asyncio.wait_for(answer, 5)
    await sandbox.settled()
    assert sandbox.receipt(receipt["_id"])["state"] == (4 if apply else 0)
    assert [(e.status, e.fault) for e in sandbox.calls("receipts.pay")] == [(0, "hold")]


async def test_stop_releases_every_hold_unanswered(clock):
    sandbox = PaymeSandbox(clock=clock)
    await sandbox.start()
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, connect=1)) as http:
        rpc = Rpc(http, sandbox.base_url)
        token = await bind(rpc)
        receipt = await new_receipt(rpc)
        parked = sandbox.hold_next("receipts.pay")
        never_reached = sandbox.hold_next("receipts.get")
        held = asyncio.create_task(rpc.raw("receipts.pay", {"id": receipt["_id"], "token": token}))
        await parked.reached()
        await asyncio.wait_for(sandbox.stop(), 5)
        with pytest.raises(httpx.HTTPError):
            await asyncio.wait_for(held, 5)
    assert (parked.proceed, never_reached.proceed, never_reached.is_reached) == (False, False, False)
    assert sandbox.receipt(receipt["_id"])["state"] == 0 and sandbox.card_balance(token) == 500_000_000
    assert [(e.status, e.fault) for e in sandbox.calls("receipts.pay")] == [(0, "hold")]


async def test_plain_answers_carry_no_fault(rpc, sandbox):
    await new_receipt(rpc)
    [entry] = sandbox.calls("receipts.create")
    assert (entry.status, entry.fault) == (200, None)
