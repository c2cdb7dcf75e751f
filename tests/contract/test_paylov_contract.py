"""The Paylov emulator answers with exactly the keys of seed 003's examples (and providers.md for the vault)."""

from __future__ import annotations

import base64

import httpx
import pytest

from bot.sandbox import paylov_catalogue as catalogue
from bot.sandbox.paylov import PaylovSandbox

SERVICE = {"service_id", "name", "category", "amount", "is_active", "has_info_method", "can_cancel",
           "payment_available", "logo"}
FIELD = {"field_id", "name", "title", "type", "content", "validation", "length", "required", "dependency_of", "values"}
VALUE = {"id", "value", "title", "filter"}
RESPONSE_FIELD = {"field_id", "name", "title", "postfix"}
ITEM = {"name", "value", "title"}
PAID = {"transactionId", "cardId", "payedAt", "paymentRef", "eposMerchant", "eposTerminal"}
STATUS = {"transactionId", "status", "payedAt", "serviceId", "cancelTime", "amount"}
TRANSACTION = {"id", "userId", "cardNumber", "owner", "amount", "date", "serviceId"}
CARD = {"userId", "cardId", "owner", "cardName", "number", "balance", "expireDate", "bankId", "vendor", "processing",
        "status"}
TOKEN = {"access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in"}
ELECTRICITY_ACCOUNT = {"region": "1", "soato": "26280", "customer_code": "1000001"}


class Clock:
    now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def api():
    clock = Clock()
    sandbox = PaylovSandbox(clock=clock)
    await sandbox.start()
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=5) as http:
        basic = base64.b64encode(f"{sandbox.CONSUMER_KEY}:{sandbox.CONSUMER_SECRET}".encode()).decode()
        token = await http.post("/merchant/oauth2/token/", headers={"Authorization": f"Basic {basic}"},
                                json={"grant_type": "password", "username": "sandbox", "password": "sandbox"})
        assert set(token.json()) == TOKEN
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield sandbox, http, clock
    await sandbox.stop()


async def test_list_and_fields_keys(api):
    _, http, _ = api
    services = (await http.get("/servicePayment/list/", params={"available_for_me": "true"})).json()
    assert set(services) == {"result"} and set(services["result"]) == {"services"}
    assert len(services["result"]["services"]) >= 8
    assert len({s["category"]["id"] for s in services["result"]["services"]}) >= 4
    for service in services["result"]["services"]:
        assert set(service) == SERVICE and set(service["category"]) == {"id", "name"}
        assert set(service["amount"]) == {"min", "max"}
    data = (await http.get(f"/servicePayment/fields/{catalogue.ELECTRICITY}/")).json()["result"]["data"]
    assert set(data[0]) == SERVICE | {"fields", "response_fields"}
    for field in data[0]["fields"]:
        assert set(field) == FIELD and all(set(v) == VALUE for v in field["values"])
    assert all(set(f) == RESPONSE_FIELD for f in data[0]["response_fields"])


async def test_info_create_pay_status_all_keys(api):
    sandbox, http, _ = api
    info = (await http.post("/servicePayment/info/", json={"service_id": catalogue.ELECTRICITY,
                                                            "account": ELECTRICITY_ACCOUNT})).json()
    assert all(set(item) == ITEM for item in info["result"]["data"])

    basic = await http.post("/merchant/userCard/createUserCard/", json={
        "userId": "7", "cardNumber": "8600069195406311", "expireDate": "9903", "phoneNumber": "+998901234567"})
    assert set(basic.json()["result"]) == {"cid", "otpSentPhone"}
    card = (await http.post("/merchant/userCard/confirmUserCardCreate/",
                            json={"cardId": basic.json()["result"]["cid"], "otp": "666666"})).json()["result"]["card"]
    assert set(card) == CARD and set(card["status"]) == {"sms_info", "is_active", "status_message"}
    got = (await http.get(f"/merchant/userCard/getCard/{card['cardId']}/")).json()["result"]["card"]
    assert set(got["status"]) == {"result"}

    created = (await http.post("/servicePayment/create/", json={
        "amount": 500, "service_id": catalogue.ELECTRICITY, "account": ELECTRICITY_ACCOUNT, "userId": "7",
        "cardId": card["cardId"]})).json()["result"]
    assert set(created) == {"transactionId", "data", "sms"} and set(created["sms"]) == {"otpSentPhone"}
    paid = (await http.post("/servicePayment/pay/", json={
        "transactionId": created["transactionId"], "cardId": card["cardId"], "userId": "7", "otp": "666666"})).json()
    assert set(paid["result"]) == PAID
    status = (await http.get("/servicePayment/transaction/status/",
                             params={"transactionId": created["transactionId"]})).json()["result"]
    assert set(status) == STATUS and status["status"] == "paid" and status["amount"] == 500
    everything = (await http.get("/servicePayment/transaction/all/", params={"userId": "7"})).json()["result"]
    assert set(everything) == {"totalTransaction", "transactions", "error"}
    assert all(set(t) == TRANSACTION for t in everything["transactions"])
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 500 * 100


async def test_error_envelope_and_statuses(api):
    _, http, _ = api
    unknown = await http.post("/servicePayment/info/", json={
        "service_id": catalogue.ELECTRICITY, "account": {**ELECTRICITY_ACCOUNT, "customer_code": "9"}})
    assert unknown.status_code == 400
    assert unknown.json() == {"result": None, "error": {"code": "account_not_found", "message": unknown.json()
                                                        ["error"]["message"]}}
    wrong_region = await http.post("/servicePayment/info/", json={
        "service_id": catalogue.ELECTRICITY, "account": {**ELECTRICITY_ACCOUNT, "soato": "27206"}})
    assert wrong_region.json()["error"]["code"] == "field_not_valid"
    float_amount = await http.post("/servicePayment/create/", json={
        "amount": 500.5, "service_id": catalogue.ELECTRICITY, "account": ELECTRICITY_ACCOUNT})
    assert float_amount.json()["error"]["code"] == "validation_error"
    too_much = await http.post("/servicePayment/create/", json={
        "amount": 5_000_001, "service_id": catalogue.ELECTRICITY, "account": ELECTRICITY_ACCOUNT})
    assert too_much.json()["error"]["code"] == "invalid_amount"


async def test_expired_and_wrong_tokens_get_401(api):
    sandbox, http, clock = api
    assert (await http.get("/servicePayment/list/")).status_code == 200
    clock.now += 3601
    expired = await http.get("/servicePayment/list/")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "unauthorized"
    wrong = await http.get("/servicePayment/list/", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


@pytest.mark.parametrize("number, code", [
    ("3333336415804657", "card_expired"), ("4444445987459073", "card_is_blocked"),
    ("8600060921090842", "sms_not_active"), ("8600143417770323", "unknown_error"),
    ("8600069195406312", "pan_not_valid"),
])
async def test_seed_test_card_scenarios(api, number, code):
    _, http, _ = api
    answer = await http.post("/merchant/userCard/createUserCard/", json={
        "userId": "7", "cardNumber": number, "expireDate": "9903"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code


async def test_ledger_and_settle_after(api):
    sandbox, http, _ = api
    sent = await http.post("/merchant/userCard/createUserCard/", json={
        "userId": "8", "cardNumber": "8600495473316478", "expireDate": "9903"})
    card = (await http.post("/merchant/userCard/confirmUserCardCreate/",
                            json={"cardId": sent.json()["result"]["cid"], "otp": "666666"})).json()["result"]["card"]
    created = (await http.post("/servicePayment/create/", json={
        "amount": 1000, "service_id": catalogue.HOT_WATER, "account": {"account": "10000001"}, "userId": "8",
        "cardId": card["cardId"]})).json()["result"]
    sandbox.settle_after(created["transactionId"], 3)
    statuses = [(await http.get("/servicePayment/transaction/status/",
                                params={"transactionId": created["transactionId"]})).json()["result"]["status"]
                for _ in range(3)]
    assert statuses == ["created", "created", "paid"]
    assert [entry.path for entry in sandbox.ledger][-3:] == ["/servicePayment/transaction/status/"] * 3
