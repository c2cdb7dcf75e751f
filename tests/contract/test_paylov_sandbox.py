"""The Paylov emulator against seed 003 and providers.md, over real HTTP: key sets copied from the seed's examples,
the error envelope and statuses, tokens, the card vault's scenarios, and the faults tests inject."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from bot.sandbox import paylov_catalogue as catalogue
from bot.sandbox.paylov import PaylovSandbox

# Key sets as the seed's examples show them (logo is present on some services only).
SERVICE = {"service_id", "name", "category", "amount", "is_active", "has_info_method", "can_cancel",
           "payment_available"}
FIELD = {"field_id", "name", "title", "type", "content", "validation", "length", "required", "dependency_of", "values"}
VALUE = {"id", "value", "title", "filter"}
RESPONSE_FIELD = {"field_id", "name", "title", "postfix"}
ITEM = {"name", "value", "title"}
PAID = {"transactionId", "cardId", "payedAt", "paymentRef", "eposMerchant", "eposTerminal"}
STATUS = {"transactionId", "status", "payedAt", "serviceId", "cancelTime", "amount"}
ALL = {"totalTransaction", "transactions", "error"}
TRANSACTION = {"id", "userId", "cardNumber", "owner", "amount", "date", "serviceId"}
# providers.md for the vault and the token.
TOKEN = {"access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in"}
CARD = {"userId", "cardId", "owner", "cardName", "number", "balance", "expireDate", "bankId", "vendor", "processing",
        "status"}
CARD_STATUS = {"sms_info", "is_active", "status_message"}

GOOD, POOR = "8600069195406311", "8600495473316478"  # 5 000 000 sum and 20 000 sum
OTP = "666666"
HOME = {"region": "1", "soato": "26280", "customer_code": "1000001"}  # owes 15 105.15
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
BASIC = "Basic " + base64.b64encode(b"sandbox-key:sandbox-secret").decode()
PASSWORD_GRANT = {"grant_type": "password", "username": "sandbox", "password": "sandbox"}
TASHKENT_TZ = timezone(timedelta(hours=5))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # 2027-01-15, Tashkent

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sandbox(clock: Clock):
    emulator = PaylovSandbox(clock=clock, slow_delay=0.2)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def http(sandbox: PaylovSandbox):
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=httpx.Timeout(5, connect=1)) as client:
        token = await client.post("/merchant/oauth2/token/", headers={"Authorization": BASIC}, json=PASSWORD_GRANT)
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


def refused(response: httpx.Response, code: str, status: int = 400) -> None:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"result", "error"} and body["result"] is None
    assert set(body["error"]) == {"code", "message"} and body["error"]["code"] == code and body["error"]["message"]


async def bind(http: httpx.AsyncClient, user_id: str = "7", number: str = GOOD, **extra: str) -> dict:
    sent = await http.post("/merchant/userCard/createUserCard/",
                           json={"userId": user_id, "cardNumber": number, "expireDate": "9903", **extra})
    confirmed = await http.post("/merchant/userCard/confirmUserCardCreate/",
                                json={"cardId": sent.json()["result"]["cid"], "otp": OTP})
    return confirmed.json()["result"]["card"]


async def create(http: httpx.AsyncClient, **body: object) -> httpx.Response:
    payload = {"amount": 1000, "service_id": catalogue.ELECTRICITY, "account": HOME, "userId": "7", **body}
    return await http.post("/servicePayment/create/", json={k: v for k, v in payload.items() if v is not None})


async def status_of(http: httpx.AsyncClient, transaction_id: str) -> dict:
    answer = await http.get("/servicePayment/transaction/status/", params={"transactionId": transaction_id})
    return answer.json()["result"]


# ---- oauth --------------------------------------------------------------------------------------------------------


async def test_password_and_refresh_grants(sandbox):
    async with httpx.AsyncClient(base_url=sandbox.base_url) as client:
        first = await client.post("/merchant/oauth2/token/", headers={"Authorization": BASIC}, json=PASSWORD_GRANT)
        assert first.status_code == 200 and set(first.json()) == TOKEN
        assert first.json()["token_type"] == "Bearer"
        assert (first.json()["expires_in"], first.json()["refresh_expires_in"]) == (3600, 604800)

        refresh = {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
        second = await client.post("/merchant/oauth2/token/", headers={"Authorization": BASIC}, json=refresh)
        assert set(second.json()) == TOKEN and second.json()["access_token"] != first.json()["access_token"]
        listed = await client.get("/servicePayment/list/",
                                  headers={"Authorization": f"Bearer {second.json()['access_token']}"})
        assert listed.status_code == 200

        spent = await client.post("/merchant/oauth2/token/", headers={"Authorization": BASIC}, json=refresh)
        assert spent.status_code == 400 and spent.json() == {"error": {"code": "invalid_grant",
                                                                       "message": spent.json()["error"]["message"]}}


async def test_bad_credentials(sandbox):
    async with httpx.AsyncClient(base_url=sandbox.base_url) as client:
        wrong = await client.post("/merchant/oauth2/token/", headers={"Authorization": BASIC},
                                  json={**PASSWORD_GRANT, "password": "nope"})
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_grant"
        assert "result" not in wrong.json()  # the OAuth2 endpoint is not wrapped, neither way
        bad_basic = "Basic " + base64.b64encode(b"sandbox-key:wrong").decode()
        client_refused = await client.post("/merchant/oauth2/token/", headers={"Authorization": bad_basic},
                                           json=PASSWORD_GRANT)
        assert client_refused.status_code == 401
        no_basic = await client.post("/merchant/oauth2/token/", json=PASSWORD_GRANT)
        assert no_basic.status_code == 401


async def test_missing_wrong_and_expired_tokens_get_401(sandbox, http, clock):
    assert (await http.get("/servicePayment/list/")).status_code == 200
    refused(await http.get("/servicePayment/list/", headers={"Authorization": "Bearer nope"}), "unauthorized", 401)
    refused(await http.get("/servicePayment/list/", headers={"Authorization": BASIC}), "unauthorized", 401)
    async with httpx.AsyncClient(base_url=sandbox.base_url) as anonymous:
        refused(await anonymous.post("/servicePayment/pay/", json={}), "unauthorized", 401)

    clock.now += 3599
    assert (await http.get("/servicePayment/list/")).status_code == 200
    clock.now += 1
    refused(await http.get("/servicePayment/list/"), "unauthorized", 401)


async def test_expire_tokens(sandbox, http):
    sandbox.expire_tokens()
    refused(await http.get("/merchant/userCard/getAllUserCards/", params={"userId": "7"}), "unauthorized", 401)
    fresh = await http.post("/merchant/oauth2/token/", headers={"Authorization": BASIC}, json=PASSWORD_GRANT)
    answer = await http.get("/servicePayment/list/",
                            headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    assert answer.status_code == 200


# ---- catalogue ------------------------------------------------------------------------------------------------------


async def test_list_has_the_seed_keys_and_the_catalogue(http):
    answer = await http.get("/servicePayment/list/", params={"available_for_me": "true"})
    assert answer.status_code == 200 and answer.json()["error"] is None
    assert set(answer.json()) == {"result", "error"} and set(answer.json()["result"]) == {"services"}
    services = answer.json()["result"]["services"]
    for service in services:
        assert set(service) - {"logo"} == SERVICE, service["name"]
        assert set(service["category"]) == {"id", "name"} and set(service["amount"]) == {"min", "max"}
        assert all(isinstance(service["amount"][k], int) for k in ("min", "max"))
    assert len(services) >= 8 and len({s["category"]["id"] for s in services}) >= 4
    by_name = {s["name"]: s for s in services}
    for name in ("Плата за электроэнергию", "Горячая вода и отопление", "Sovuq suv", "Hududgaz: Tabiiy gaz",
                 "Uzonline Internet", "Beeline"):
        assert name in by_name
    assert any(name.startswith("Чиқинди") for name in by_name)
    assert by_name["Beeline"]["category"]["name"] == "Мобильная связь"
    assert by_name["Beeline"]["has_info_method"] is False
    assert by_name["Beeline"]["amount"] == {"min": 1000, "max": 1000000}
    assert sum(not s["is_active"] for s in services) == 1
    assert sum(not s["payment_available"] for s in services) == 1


async def test_fields_have_the_seed_keys(http):
    answer = await http.get(f"/servicePayment/fields/{catalogue.ELECTRICITY}/")
    assert set(answer.json()["result"]) == {"data"}
    [service] = answer.json()["result"]["data"]
    assert set(service) - {"logo"} == SERVICE | {"fields", "response_fields"}
    for field in service["fields"]:
        assert set(field) == FIELD and all(set(v) == VALUE for v in field["values"])
    assert all(set(f) == RESPONSE_FIELD for f in service["response_fields"])
    saldo = next(f for f in service["response_fields"] if f["name"] == "saldo")
    assert saldo["postfix"] == "UZS"

    region, soato, code = service["fields"]
    assert (region["name"], region["type"], region["dependency_of"]) == ("region", "select", None)
    assert (soato["name"], soato["type"], soato["dependency_of"]) == ("soato", "select", "region")
    assert (code["name"], code["type"], code["content"], code["values"]) == ("customer_code", "text", "number", [])
    districts = {r["value"]: {v["value"] for v in soato["values"] if v["filter"] == r["value"]}
                 for r in region["values"]}
    assert len(districts) >= 2 and all(len(d) >= 2 for d in districts.values())
    assert len(set.union(*districts.values())) == sum(len(d) for d in districts.values())  # no district shared


async def test_every_service_has_fields_and_response_fields(http):
    for service_id in (catalogue.HOT_WATER, catalogue.COLD_WATER, catalogue.GAS, catalogue.WASTE,
                       catalogue.INTERNET, catalogue.MOBILE, catalogue.INACTIVE, catalogue.UNAVAILABLE):
        [service] = (await http.get(f"/servicePayment/fields/{service_id}/")).json()["result"]["data"]
        assert service["fields"] and service["response_fields"]
        assert all(set(f) == FIELD for f in service["fields"])
    [internet] = (await http.get(f"/servicePayment/fields/{catalogue.INTERNET}/")).json()["result"]["data"]
    assert [(f["name"], f["type"]) for f in internet["fields"]] == [("login", "text")]
    [mobile] = (await http.get(f"/servicePayment/fields/{catalogue.MOBILE}/")).json()["result"]["data"]
    [phone] = mobile["fields"]
    assert (phone["name"], phone["type"], phone["content"], phone["validation"], phone["length"]) == (
        "phone", "text", "number", r"^(90|91)\d{7}$", 9)
    refused(await http.get("/servicePayment/fields/no-such-service/"), "service_not_available")


async def test_info_items_like_the_seed(http):
    answer = await http.post("/servicePayment/info/", json={"service_id": catalogue.ELECTRICITY, "account": HOME})
    assert answer.status_code == 200 and set(answer.json()) == {"result", "error"}
    assert answer.json()["error"] is None and set(answer.json()["result"]) == {"data"}
    items = answer.json()["result"]["data"]
    assert all(set(item) == ITEM for item in items)
    values = {item["name"]: item["value"] for item in items}
    assert {"time", "fio", "address", "saldo", "region", "soato", "customer_code"} <= set(values)
    assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}", values["time"])
    assert values["saldo"] == "-15105.15 UZS"  # negative: a debt
    assert (values["region"], values["soato"], values["customer_code"]) == (
        "г. Ташкент", "26280 - Алмазарский ЭСП", "1000001")

    credit = await http.post("/servicePayment/info/", json={
        "service_id": catalogue.ELECTRICITY, "account": {"region": "2", "soato": "27206", "customer_code": "2000002"}})
    assert {i["name"]: i["value"] for i in credit.json()["result"]["data"]}["saldo"] == "25000.00 UZS"

    awkward = await http.post("/servicePayment/info/", json={
        "service_id": catalogue.ELECTRICITY, "account": {"region": "1", "soato": "26290", "customer_code": "1000003"}})
    awkward_values = {i["name"]: i["value"] for i in awkward.json()["result"]["data"]}
    assert "<" in awkward_values["address"] and "&" in awkward_values["address"]
    assert len(awkward_values["fio"]) > 200


@pytest.mark.parametrize("service_id, account", [
    (catalogue.HOT_WATER, {"account": "10000001"}), (catalogue.HOT_WATER, {"account": "10000002"}),
    (catalogue.COLD_WATER, {"account": "20000001"}), (catalogue.COLD_WATER, {"account": "20000002"}),
    (catalogue.WASTE, {"account": "30000001"}), (catalogue.WASTE, {"account": "30000002"}),
    (catalogue.GAS, {"customer_code": "4000000001"}), (catalogue.GAS, {"customer_code": "4000000002"}),
    (catalogue.INTERNET, {"login": "aziz_home"}), (catalogue.INTERNET, {"login": "malika.office"}),
])
async def test_every_documented_account_answers(http, service_id, account):
    answer = await http.post("/servicePayment/info/", json={"service_id": service_id, "account": account})
    values = {i["name"]: i["value"] for i in answer.json()["result"]["data"]}
    assert values["fio"] and re.fullmatch(r"-?\d+\.\d{2} UZS", values["saldo"])


@pytest.mark.parametrize("body, code", [
    ({"service_id": catalogue.ELECTRICITY, "account": {**HOME, "customer_code": "9999999"}}, "account_not_found"),
    ({"service_id": catalogue.ELECTRICITY, "account": {**HOME, "soato": "27206"}}, "field_not_valid"),  # region 2's
    ({"service_id": catalogue.ELECTRICITY, "account": {"region": "1", "soato": "26280"}}, "field_not_valid"),
    ({"service_id": catalogue.ELECTRICITY, "account": {**HOME, "customer_code": "10O0001"}}, "field_not_valid"),
    ({"service_id": catalogue.ELECTRICITY, "account": {**HOME, "customer_code": 1000001}}, "field_not_valid"),
    ({"service_id": catalogue.ELECTRICITY, "account": "1000001"}, "validation_error"),
    ({"service_id": catalogue.MOBILE, "account": {"phone": "901234567"}}, "info_not_available"),
    ({"service_id": catalogue.INACTIVE, "account": {"account": "1"}}, "service_not_available"),
    ({"service_id": "no-such-service", "account": {}}, "service_not_available"),
])
async def test_info_refusals(http, body, code):
    refused(await http.post("/servicePayment/info/", json=body), code)


# ---- create and pay -------------------------------------------------------------------------------------------------


async def test_create_without_a_card_has_no_sms(http):
    answer = await create(http)
    assert set(answer.json()) == {"result", "error"} and set(answer.json()["result"]) == {"transactionId", "data"}
    data = answer.json()["result"]["data"]
    assert all(set(item) == ITEM for item in data)
    assert [i["name"] for i in data][:3] == ["region", "soato", "customer_code"]  # the seed's create order
    assert {"time", "fio", "address", "saldo"} <= {i["name"] for i in data}


async def test_create_with_a_card_sends_a_code(http):
    card = await bind(http, "7", phoneNumber="+998901234567")
    answer = await create(http, cardId=card["cardId"], phoneNumber="+998901234567")
    assert set(answer.json()["result"]) == {"transactionId", "data", "sms"}
    assert answer.json()["result"]["sms"] == {"otpSentPhone": "********4567"}


async def test_create_for_a_service_without_info_echoes_the_account(http):
    answer = await create(http, service_id=catalogue.MOBILE, account={"phone": "901234567"}, amount=5000)
    assert answer.json()["result"]["data"] == [{"name": "phone", "value": "901234567", "title": "phone"}]
    refused(await create(http, service_id=catalogue.MOBILE, account={"phone": "931234567"}, amount=5000),
            "field_not_valid")
    refused(await create(http, service_id=catalogue.MOBILE, account={"phone": "9012345678"}, amount=5000),
            "field_not_valid")


@pytest.mark.parametrize("overrides, code", [
    ({"service_id": catalogue.INACTIVE, "account": {"account": "1"}}, "service_not_available"),
    ({"service_id": catalogue.UNAVAILABLE, "account": {"account": "1"}}, "service_not_available"),
    ({"service_id": "no-such-service"}, "service_not_available"),
    ({"amount": 499}, "invalid_amount"),
    ({"amount": 5_000_001}, "invalid_amount"),
    ({"amount": 1000.5}, "validation_error"),
    ({"amount": 1000.0}, "validation_error"),
    ({"amount": "1000"}, "validation_error"),
    ({"account": {**HOME, "customer_code": "7777777"}}, "account_not_found"),
    ({"account": {**HOME, "region": "9"}}, "field_not_valid"),
    ({"cardId": "no-such-card"}, "card_not_found"),
])
async def test_create_refusals(http, overrides, code):
    refused(await create(http, **overrides), code)


async def test_create_checks_the_cards_owner_and_phone(http):
    card = await bind(http, "7", phoneNumber="+998901234567")
    refused(await create(http, cardId=card["cardId"], userId="8"), "card_not_found")
    refused(await create(http, cardId=card["cardId"], phoneNumber="+998911111111"), "phone_not_match")
    assert (await create(http, cardId=card["cardId"], phoneNumber="998901234567")).status_code == 200


async def test_pay_with_the_code_debits_the_card(sandbox, http):
    card = await bind(http)
    created = (await create(http, amount=15106, cardId=card["cardId"])).json()["result"]
    answer = await http.post("/servicePayment/pay/", json={
        "transactionId": created["transactionId"], "cardId": card["cardId"], "userId": "7", "otp": OTP})
    assert answer.status_code == 200 and set(answer.json()) == {"result", "error"}
    paid = answer.json()["result"]
    assert set(paid) == PAID and paid["transactionId"] == created["transactionId"]
    assert paid["cardId"] == card["cardId"] and STAMP.match(paid["payedAt"])
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 15106 * 100

    status = await status_of(http, created["transactionId"])
    assert set(status) == STATUS
    assert status == {"transactionId": created["transactionId"], "status": "paid", "payedAt": paid["payedAt"],
                      "serviceId": catalogue.ELECTRICITY, "cancelTime": None, "amount": 15106}
    again = await http.post("/servicePayment/pay/", json={
        "transactionId": created["transactionId"], "cardId": card["cardId"], "otp": OTP})
    refused(again, "transaction_already_payed")
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 15106 * 100
    listed = (await http.get("/merchant/userCard/getAllUserCards/", params={"userId": "7"})).json()["result"]
    assert listed["cards"][0]["balance"] == 500_000_000 - 15106 * 100


async def test_three_wrong_codes_cancel_the_transaction(sandbox, http):
    card = await bind(http)
    tx = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    pay = {"transactionId": tx, "cardId": card["cardId"], "userId": "7"}
    refused(await http.post("/servicePayment/pay/", json={**pay, "otp": "111111"}), "invalid_otp")
    refused(await http.post("/servicePayment/pay/", json={**pay}), "invalid_otp")
    refused(await http.post("/servicePayment/pay/", json={**pay, "otp": "222222"}), "too_many_attempts")
    refused(await http.post("/servicePayment/pay/", json={**pay, "otp": OTP}), "transaction_not_available_for_payment")
    status = await status_of(http, tx)
    assert status["status"] == "cancelled" and STAMP.match(status["cancelTime"]) and status["payedAt"] is None
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000


async def test_the_code_expires(sandbox, http, clock):
    card = await bind(http)
    tx = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    clock.now += 121
    refused(await http.post("/servicePayment/pay/", json={"transactionId": tx, "cardId": card["cardId"], "otp": OTP}),
            "otp_expired")
    assert (await status_of(http, tx))["status"] == "created"


async def test_insufficient_funds(sandbox, http):
    card = await bind(http, "9", POOR)
    assert card["balance"] == 2_000_000
    tx = (await create(http, userId="9", amount=20_001, cardId=card["cardId"])).json()["result"]["transactionId"]
    refused(await http.post("/servicePayment/pay/", json={"transactionId": tx, "cardId": card["cardId"], "otp": OTP}),
            "insufficient_funds")
    assert sandbox.card_balance("9", card["cardId"]) == 2_000_000
    exact = (await create(http, userId="9", amount=20_000, cardId=card["cardId"])).json()["result"]["transactionId"]
    paid = await http.post("/servicePayment/pay/", json={"transactionId": exact, "cardId": card["cardId"], "otp": OTP})
    assert paid.status_code == 200 and sandbox.card_balance("9", card["cardId"]) == 0


async def test_merchant_settlement_pays_without_a_code(sandbox, http):
    card = await bind(http)
    tx = (await create(http)).json()["result"]["transactionId"]
    refused(await http.post("/servicePayment/pay/", json={"transactionId": tx, "cardId": "nope"}), "card_not_found")
    answer = await http.post("/servicePayment/pay/", json={"transactionId": tx, "cardId": card["cardId"]})
    assert set(answer.json()["result"]) == PAID
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 1000 * 100


async def test_unknown_transactions(http):
    refused(await http.post("/servicePayment/pay/", json={"transactionId": "nope", "cardId": "nope", "otp": OTP}),
            "transaction_not_available_for_payment")
    refused(await http.get("/servicePayment/transaction/status/", params={"transactionId": "nope"}),
            "transaction_not_found")
    refused(await http.post("/servicePayment/pay/", json={"cardId": "x"}), "validation_error")
    refused(await http.post("/servicePayment/pay/", content=b"not json"), "validation_error")


# ---- transaction/all ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/servicePayment/transaction/all/", "/servicePayment/transaction/all",
                                  "/merchant/servicePayment/transaction/all/",
                                  "/merchant/servicePayment/transaction/all"])
async def test_all_lists_paid_transactions_with_filters(sandbox, http, path):
    card = await bind(http)
    paid = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    await http.post("/servicePayment/pay/", json={"transactionId": paid, "cardId": card["cardId"], "otp": OTP})
    await create(http, cardId=card["cardId"])  # created, never paid: not listed
    outside = sandbox.add_outside_payment("7", catalogue.GAS, 63000, datetime(2026, 12, 31, 23, 0, 0),
                                          "986034******8885", "BOTIROV TEMURBEK")

    answer = await http.get(path, params={"userId": "7"})
    assert answer.status_code == 200 and set(answer.json()) == {"result", "error"}
    result = answer.json()["result"]
    assert set(result) == ALL and result["error"] is None and result["totalTransaction"] == 2
    assert all(set(t) == TRANSACTION for t in result["transactions"])
    ours, theirs = result["transactions"]  # newest first
    assert (ours["id"], ours["userId"], ours["cardNumber"], ours["owner"], ours["amount"], ours["serviceId"]) == (
        paid, "7", "860006******6311", "TEST USER", 1000, catalogue.ELECTRICITY)
    assert STAMP.match(ours["date"])
    assert theirs == {"id": outside, "userId": "7", "cardNumber": "986034******8885", "owner": "BOTIROV TEMURBEK",
                      "amount": 63000, "date": "2026-12-31 23:00:00", "serviceId": catalogue.GAS}

    async def ids(**params: str) -> list[str]:
        got = (await http.get(path, params=params)).json()["result"]["transactions"]
        return [t["id"] for t in got]

    assert await ids(userId="8") == []
    assert await ids(serviceId=catalogue.GAS) == [outside]
    assert await ids(beginDate="2027-01-01") == [paid]
    assert await ids(endDate="2026-12-31") == [outside]
    assert await ids(beginDate="2026-12-31 23:00:00", endDate="2026-12-31 23:00:00") == [outside]
    assert await ids(beginDate="2026-12-31 23:00:01", endDate="2026-12-31") == []
    refused(await http.get(path, params={"beginDate": "31.12.2026"}), "validation_error")


# ---- card vault -----------------------------------------------------------------------------------------------------


async def test_bind_a_card(http):
    sent = await http.post("/merchant/userCard/createUserCard/", json={
        "userId": "7", "cardNumber": GOOD, "expireDate": "9903", "phoneNumber": "+998901234567"})
    assert sent.status_code == 200 and set(sent.json()["result"]) == {"cid", "otpSentPhone"}
    assert sent.json()["result"]["otpSentPhone"] == "********4567"
    confirmed = await http.post("/merchant/userCard/confirmUserCardCreate/", json={
        "cardId": sent.json()["result"]["cid"], "otp": OTP, "cardName": "Salary"})
    card = confirmed.json()["result"]["card"]
    assert set(confirmed.json()["result"]) == {"card"} and set(card) == CARD and set(card["status"]) == CARD_STATUS
    assert (card["userId"], card["owner"], card["cardName"], card["number"], card["balance"], card["expireDate"],
            card["processing"]) == ("7", "TEST USER", "Salary", "860006******6311", 500_000_000, "9903", "uzcard")
    assert card["status"]["is_active"] is True

    again = await http.post("/merchant/userCard/confirmUserCardCreate/", json={
        "cardId": sent.json()["result"]["cid"], "otp": OTP})
    refused(again, "card_is_already_activated")

    got = (await http.get(f"/merchant/userCard/getCard/{card['cardId']}/")).json()["result"]
    assert set(got) == {"card"} and set(got["card"]) == CARD and set(got["card"]["status"]) == {"result"}
    assert set(got["card"]["status"]["result"]) == CARD_STATUS

    mine = (await http.get("/merchant/userCard/getAllUserCards/", params={"userId": "7"})).json()["result"]
    assert set(mine) == {"cards"} and [c["cardId"] for c in mine["cards"]] == [card["cardId"]]
    assert all(set(c) == CARD for c in mine["cards"])
    theirs = (await http.get("/merchant/userCard/getAllUserCards/", params={"userId": "8"})).json()["result"]
    assert theirs == {"cards": []}

    deleted = await http.delete("/merchant/userCard/deleteUserCard/", params={"userCardId": card["cardId"]})
    assert deleted.json() == {"result": True, "error": None}
    refused(await http.delete("/merchant/userCard/deleteUserCard/", params={"userCardId": card["cardId"]}),
            "card_not_found")
    refused(await http.get(f"/merchant/userCard/getCard/{card['cardId']}/"), "card_not_found")


async def test_default_phone_is_masked(http):
    sent = await http.post("/merchant/userCard/createUserCard/", json={
        "userId": "7", "cardNumber": GOOD, "expireDate": "9903"})
    assert sent.json()["result"]["otpSentPhone"] == "********0000"


async def test_wrong_expired_and_resent_codes(http, clock):
    card = {"userId": "7", "cardNumber": GOOD, "expireDate": "9903"}
    first = (await http.post("/merchant/userCard/createUserCard/", json=card)).json()["result"]["cid"]
    refused(await http.post("/merchant/userCard/confirmUserCardCreate/", json={"cardId": first, "otp": "123456"}),
            "invalid_otp")
    clock.now += 121
    refused(await http.post("/merchant/userCard/confirmUserCardCreate/", json={"cardId": first, "otp": OTP}),
            "otp_expired")
    second = (await http.post("/merchant/userCard/createUserCard/", json=card)).json()["result"]["cid"]
    assert second != first
    refused(await http.post("/merchant/userCard/confirmUserCardCreate/", json={"cardId": first, "otp": OTP}),
            "otp_expired")  # replaced by the new code
    confirmed = await http.post("/merchant/userCard/confirmUserCardCreate/", json={"cardId": second, "otp": OTP})
    assert confirmed.status_code == 200
    refused(await http.post("/merchant/userCard/confirmUserCardCreate/", json={"cardId": "nope", "otp": OTP}),
            "card_not_found")


async def test_three_wrong_card_codes(http):
    cid = (await http.post("/merchant/userCard/createUserCard/", json={
        "userId": "7", "cardNumber": GOOD, "expireDate": "9903"})).json()["result"]["cid"]
    codes = []
    for _ in range(3):
        answer = await http.post("/merchant/userCard/confirmUserCardCreate/", json={"cardId": cid, "otp": "000000"})
        codes.append(answer.json()["error"]["code"])
    assert codes == ["invalid_otp", "invalid_otp", "too_many_attempts"]


@pytest.mark.parametrize("number, expire, code", [
    ("3333336415804657", "9903", "card_expired"),
    ("4444445987459073", "9903", "card_is_blocked"),
    ("8600060921090842", "9903", "sms_not_active"),
    ("8600143417770323", "9903", "unknown_error"),
    ("8600134301849596", "9903", "processing_error"),  # after slow_delay
    (GOOD, "9904", "invalid_card"),
    ("8600069195406312", "9903", "pan_not_valid"),
    ("860006919540631", "9903", "pan_not_valid"),
    ("4111111111111111", "3012", "card_is_not_supported"),
    ("8600000000000007", "2001", "card_expired"),
    ("8600000000000007", "3013", "invalid_card"),
])
async def test_card_scenarios(http, number, expire, code):
    answer = await http.post("/merchant/userCard/createUserCard/", json={
        "userId": "7", "cardNumber": number, "expireDate": expire})
    refused(answer, code)
    if code == "unknown_error":
        assert answer.json()["error"]["message"] == "Неизвестная системная ошибка"


async def test_any_other_uzcard_or_humo_binds(http):
    for number, processing in (("8600000000000007", "uzcard"), ("9860000000000000", "humo")):
        sent = await http.post("/merchant/userCard/createUserCard/", json={
            "userId": "7", "cardNumber": number, "expireDate": "3012"})
        card = (await http.post("/merchant/userCard/confirmUserCardCreate/", json={
            "cardId": sent.json()["result"]["cid"], "otp": OTP})).json()["result"]["card"]
        assert (card["balance"], card["processing"], card["expireDate"]) == (100_000_000, processing, "3012")


# ---- ledger, faults, settlement -------------------------------------------------------------------------------------


async def test_ledger_records_every_request(sandbox, http):
    before = len(sandbox.ledger)
    await http.get(f"/servicePayment/fields/{catalogue.GAS}/")
    await http.post("/servicePayment/info/", json={"service_id": catalogue.ELECTRICITY, "account": {}})
    await http.get("/servicePayment/transaction/status/", params={"transactionId": "x"})
    await http.get("/servicePayment/nowhere/")
    fields, info, status, nowhere = sandbox.ledger[before:]
    assert (fields.method, fields.path, fields.status, fields.body) == (
        "GET", f"/servicePayment/fields/{catalogue.GAS}/", 200, None)
    assert fields.response["result"]["data"][0]["service_id"] == catalogue.GAS
    assert (info.method, info.body, info.status, info.response["error"]["code"]) == (
        "POST", {"service_id": catalogue.ELECTRICITY, "account": {}}, 400, "field_not_valid")
    assert status.query == {"transactionId": "x"}
    assert nowhere.status == 404 and nowhere.response["error"]["code"] == "not_found"
    assert sandbox.calls("servicePayment/fields/") == [fields]  # the id in the path does not hide it
    assert sandbox.calls("transaction/status") == [status]
    assert sandbox.calls("ay/") == []  # whole segments only
    assert [e.path for e in sandbox.calls("oauth2/token/")] == ["/merchant/oauth2/token/"]


async def test_ledger_entries_do_not_print_card_numbers(sandbox, http):
    await http.post("/merchant/userCard/createUserCard/", json={"userId": "7", "cardNumber": GOOD,
                                                                "expireDate": "9903"})
    [entry] = sandbox.calls("userCard/createUserCard/")
    assert entry.body["cardNumber"] == GOOD and GOOD not in repr(entry)


async def test_timeout_after_the_effect(sandbox, http):
    card = await bind(http)
    tx = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    sandbox.fail_next("servicePayment/pay/", "timeout")
    with pytest.raises(httpx.ReadTimeout):
        await http.post("/servicePayment/pay/", json={"transactionId": tx, "cardId": card["cardId"], "otp": OTP},
                        timeout=httpx.Timeout(0.3, connect=1))
    assert (await status_of(http, tx))["status"] == "paid"
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 1000 * 100
    [pay] = sandbox.calls("servicePayment/pay/")
    assert (pay.status, pay.response) == (0, None)


async def test_timeout_before_the_effect_and_stop_releases_it(clock):
    sandbox = PaylovSandbox(clock=clock)
    await sandbox.start()
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=5) as http:
        token = await http.post("/merchant/oauth2/token/", headers={"Authorization": BASIC}, json=PASSWORD_GRANT)
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        card = await bind(http)
        tx = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
        sandbox.fail_next("servicePayment/pay/", "timeout", apply=False)
        held = asyncio.create_task(http.post("/servicePayment/pay/", json={
            "transactionId": tx, "cardId": card["cardId"], "otp": OTP}))
        await sandbox.wait_for_calls("servicePayment/pay/")
        assert sandbox.transaction(tx)["status"] == "created"
        assert sandbox.card_balance("7", card["cardId"]) == 500_000_000
        await asyncio.wait_for(sandbox.stop(), 5)  # the held answer does not keep the server up
        with pytest.raises(httpx.HTTPError):
            await asyncio.wait_for(held, 5)


@pytest.mark.parametrize("apply, charged", [(True, True), (False, False)])
async def test_drop(sandbox, http, apply, charged):
    card = await bind(http)
    tx = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    sandbox.fail_next("servicePayment/pay/", "drop", apply=apply)
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post("/servicePayment/pay/", json={"transactionId": tx, "cardId": card["cardId"], "otp": OTP})
    assert (await status_of(http, tx))["status"] == ("paid" if charged else "created")
    assert (sandbox.card_balance("7", card["cardId"]) < 500_000_000) is charged


@pytest.mark.parametrize("apply, charged", [(True, True), (False, False)])
async def test_500(sandbox, http, apply, charged):
    card = await bind(http)
    tx = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    sandbox.fail_next("servicePayment/pay/", "500", apply=apply)
    answer = await http.post("/servicePayment/pay/", json={"transactionId": tx, "cardId": card["cardId"], "otp": OTP})
    assert answer.status_code == 500
    assert (await status_of(http, tx))["status"] == ("paid" if charged else "created")
    assert [e.status for e in sandbox.calls("servicePayment/pay/")] == [500]
    if not charged:  # the fault is spent: the next request goes through
        again = await http.post("/servicePayment/pay/", json={"transactionId": tx, "cardId": card["cardId"],
                                                               "otp": OTP})
        assert again.status_code == 200


async def test_faults_hit_only_their_endpoint_and_queue(sandbox, http):
    sandbox.fail_next("servicePayment/fields/", "500")
    sandbox.fail_next("servicePayment/fields/", "500")
    assert (await http.get("/servicePayment/list/")).status_code == 200
    assert (await http.get(f"/servicePayment/fields/{catalogue.GAS}/")).status_code == 500
    assert (await http.get(f"/servicePayment/fields/{catalogue.GAS}/")).status_code == 500
    assert (await http.get(f"/servicePayment/fields/{catalogue.GAS}/")).status_code == 200


async def test_settle_after_hides_a_payment_then_shows_it(sandbox, http):
    card = await bind(http)
    tx = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    sandbox.fail_next("servicePayment/pay/", "500")
    await http.post("/servicePayment/pay/", json={"transactionId": tx, "cardId": card["cardId"], "otp": OTP})
    sandbox.settle_after(tx, 3)
    seen = [await status_of(http, tx) for _ in range(4)]
    assert [s["status"] for s in seen] == ["created", "created", "paid", "paid"]
    assert seen[0]["payedAt"] is None and STAMP.match(seen[2]["payedAt"])
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 1000 * 100  # charged once


async def test_settle_after_can_charge_or_cancel(sandbox, http):
    card = await bind(http)
    never_paid = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    sandbox.settle_after(never_paid, 2, final="paid")
    assert [(await status_of(http, never_paid))["status"] for _ in range(2)] == ["created", "paid"]
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 1000 * 100

    reversed_tx = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    await http.post("/servicePayment/pay/", json={"transactionId": reversed_tx, "cardId": card["cardId"],
                                                  "otp": OTP})
    sandbox.settle_after(reversed_tx, 1, final="cancelled")
    status = await status_of(http, reversed_tx)
    assert status["status"] == "cancelled" and STAMP.match(status["cancelTime"])
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 1000 * 100  # the reversal refunded it


async def test_nothing_is_logged_per_request(sandbox, http, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    await http.post("/merchant/userCard/createUserCard/", json={"userId": "7", "cardNumber": GOOD,
                                                                "expireDate": "9903"})
    sandbox.fail_next("servicePayment/list/", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get("/servicePayment/list/")
    assert not [r for r in caplog.records if r.name.startswith("aiohttp") and r.levelno >= logging.INFO]
    assert GOOD not in caplog.text


# ---- faults on command: 429, error, garbage, hold ---------------------------------------------------------------------


async def charged_setup(http: httpx.AsyncClient) -> tuple[dict, dict]:
    """A bound card (5 000 000 sum) and the body of a pay for a fresh 1 000 sum transaction made with it."""
    card = await bind(http)
    tx = (await create(http, cardId=card["cardId"])).json()["result"]["transactionId"]
    return card, {"transactionId": tx, "cardId": card["cardId"], "otp": OTP}


@pytest.mark.parametrize("retry_after, header", [
    (1, "1"), (30, "30"), ("Fri, 15 Jan 2027 12:00:00 GMT", "Fri, 15 Jan 2027 12:00:00 GMT"),
    (datetime(2027, 1, 15, 17, 0, tzinfo=TASHKENT_TZ), "Fri, 15 Jan 2027 12:00:00 GMT"),
])
async def test_429_answers_retry_after_in_the_envelope_and_does_no_work(sandbox, http, retry_after, header):
    card, pay = await charged_setup(http)
    sandbox.fail_next("servicePayment/pay/", "429", retry_after=retry_after)
    answer = await http.post("/servicePayment/pay/", json=pay)
    refused(answer, "too_many_requests", 429)
    assert answer.headers["Retry-After"] == header
    assert sandbox.transaction(pay["transactionId"])["status"] == "created"
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000
    [entry] = sandbox.calls("servicePayment/pay/")
    assert (entry.status, entry.fault, entry.response["error"]["code"]) == (429, "429", "too_many_requests")
    assert (await http.post("/servicePayment/pay/", json=pay)).status_code == 200  # spent: the next one pays


async def test_429_on_a_read_with_another_code(sandbox, http):
    sandbox.fail_next("servicePayment/info/", "429", code="server_error")
    answer = await http.post("/servicePayment/info/", json={"service_id": catalogue.ELECTRICITY, "account": HOME})
    refused(answer, "server_error", 429)
    assert answer.headers["Retry-After"] == "1"


@pytest.mark.parametrize("apply, charged", [(False, False), (True, True)])
async def test_error_answers_the_documented_envelope(sandbox, http, apply, charged):
    card, pay = await charged_setup(http)
    sandbox.fail_next("servicePayment/pay/", "error", code="insufficient_funds", apply=apply)
    answer = await http.post("/servicePayment/pay/", json=pay)
    refused(answer, "insufficient_funds")
    assert answer.json()["error"]["message"] == "Недостаточно средств"
    assert sandbox.transaction(pay["transactionId"])["status"] == ("paid" if charged else "created")
    assert (sandbox.card_balance("7", card["cardId"]) < 500_000_000) is charged
    [entry] = sandbox.calls("servicePayment/pay/")
    assert (entry.status, entry.fault) == (400, "error")


async def test_error_by_default_does_no_work(sandbox, http):
    card, pay = await charged_setup(http)
    sandbox.fail_next("servicePayment/pay/", "error", code="processing_error")
    refused(await http.post("/servicePayment/pay/", json=pay), "processing_error")
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000


async def test_error_statuses_and_the_token_endpoints_bare_shape(sandbox, http):
    sandbox.fail_next("servicePayment/list/", "error", code="unauthorized")
    refused(await http.get("/servicePayment/list/"), "unauthorized", 401)
    sandbox.fail_next("merchant/oauth2/token/", "error", code="invalid_grant")
    token = await http.post("/merchant/oauth2/token/", headers={"Authorization": BASIC}, json=PASSWORD_GRANT)
    assert token.status_code == 400 and token.json() == {
        "error": {"code": "invalid_grant", "message": "Неверные учётные данные"}}
    assert [e.fault for e in sandbox.calls("oauth2/token/")] == [None, "error"]  # the fixture's grant, then this


async def test_fault_orders_are_checked_where_they_are_given(sandbox):
    with pytest.raises(ValueError):
        sandbox.fail_next("servicePayment/pay/", "error")  # no code
    with pytest.raises(ValueError):
        sandbox.fail_next("servicePayment/pay/", "error", code="no_such_code")
    with pytest.raises(ValueError):
        sandbox.fail_next("servicePayment/pay/", "500", code="insufficient_funds")
    with pytest.raises(ValueError):
        sandbox.fail_next("servicePayment/pay/", "429", apply=True)  # a 429 never does the work
    with pytest.raises(ValueError):
        sandbox.fail_next("servicePayment/pay/", "hold")  # hold_next hands the Hold out
    with pytest.raises(ValueError):
        sandbox.fail_next("servicePayment/pay/", "slow")  # type: ignore[arg-type]
    assert sandbox._faults == []


@pytest.mark.parametrize("apply, charged", [(False, False), (True, True)])
async def test_garbage(sandbox, http, apply, charged):
    card, pay = await charged_setup(http)
    sandbox.fail_next("servicePayment/pay/", "garbage", apply=apply)
    answer = await http.post("/servicePayment/pay/", json=pay)
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()
    if charged:  # the real answer, cut short
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.text.startswith('{"result": {"transactionId": ')
    else:
        assert answer.headers["Content-Type"].startswith("text/html") and "<html>" in answer.text
    assert sandbox.transaction(pay["transactionId"])["status"] == ("paid" if charged else "created")
    assert (sandbox.card_balance("7", card["cardId"]) < 500_000_000) is charged
    [entry] = sandbox.calls("servicePayment/pay/")
    assert (entry.status, entry.fault, entry.response) == (200, "garbage", answer.text)


@pytest.mark.parametrize("apply", [False, True])
async def test_hold_parks_before_or_after_the_work_until_released(sandbox, http, apply):
    card, pay = await charged_setup(http)
    hold = sandbox.hold_next("servicePayment/pay/", apply=apply)
    answer = asyncio.create_task(http.post("/servicePayment/pay/", json=pay))
    await hold.reached()
    assert not answer.done()
    [parked] = sandbox.calls("servicePayment/pay/")
    assert (parked.status, parked.fault, parked.response) == (0, "hold", None)
    # apply=True: the card is charged before the answer; apply=False: nothing has happened yet
    assert (sandbox.card_balance("7", card["cardId"]) < 500_000_000) is apply
    assert sandbox.transaction(pay["transactionId"])["status"] == ("paid" if apply else "created")

    hold.release()
    answered = await asyncio.wait_for(answer, 5)
    assert answered.status_code == 200 and set(answered.json()["result"]) == PAID
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 1000 * 100  # charged once
    [entry] = sandbox.calls("servicePayment/pay/")
    assert (entry.status, entry.fault, entry.response) == (200, "hold", answered.json())


@pytest.mark.parametrize("apply, charged", [(False, False), (True, True)])
async def test_hold_released_without_proceeding_closes_unanswered(sandbox, http, apply, charged):
    card, pay = await charged_setup(http)
    hold = sandbox.hold_next("servicePayment/pay/", apply=apply)
    answer = asyncio.create_task(http.post("/servicePayment/pay/", json=pay))
    await hold.reached()
    hold.release(proceed=False)
    with pytest.raises(httpx.RemoteProtocolError):
        await asyncio.wait_for(answer, 5)
    await sandbox.settled()
    assert sandbox.transaction(pay["transactionId"])["status"] == ("paid" if charged else "created")
    assert (sandbox.card_balance("7", card["cardId"]) < 500_000_000) is charged
    [entry] = sandbox.calls("servicePayment/pay/")
    assert (entry.status, entry.fault) == (0, "hold")


async def test_hold_whose_client_has_gone_still_does_the_work_quietly(sandbox, http):
    card, pay = await charged_setup(http)
    hold = sandbox.hold_next("servicePayment/pay/")
    with pytest.raises(httpx.ReadTimeout):
        await http.post("/servicePayment/pay/", json=pay, timeout=httpx.Timeout(0.3, connect=1))
    await hold.reached()  # parked before the client gave up
    hold.release()
    await sandbox.settled()
    assert sandbox.transaction(pay["transactionId"])["status"] == "paid"
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000 - 1000 * 100
    [entry] = sandbox.calls("servicePayment/pay/")
    assert (entry.status, entry.fault) == (0, "hold")  # the client never got the answer
    assert (await http.get("/servicePayment/list/")).status_code == 200  # the server is none the worse


async def test_stop_releases_every_hold_unanswered(clock):
    sandbox = PaylovSandbox(clock=clock)
    await sandbox.start()
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=5) as http:
        token = await http.post("/merchant/oauth2/token/", headers={"Authorization": BASIC}, json=PASSWORD_GRANT)
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        card, pay = await charged_setup(http)
        parked = sandbox.hold_next("servicePayment/pay/")
        never_reached = sandbox.hold_next("servicePayment/info/")
        held = asyncio.create_task(http.post("/servicePayment/pay/", json=pay))
        await parked.reached()
        await asyncio.wait_for(sandbox.stop(), 5)
        with pytest.raises(httpx.HTTPError):
            await asyncio.wait_for(held, 5)
    assert (parked.proceed, never_reached.proceed) == (False, False)
    assert not never_reached.is_reached and sandbox._faults == []  # an unreached hold leaves the queue
    assert sandbox.transaction(pay["transactionId"])["status"] == "created"
    assert sandbox.card_balance("7", card["cardId"]) == 500_000_000
    assert [(e.status, e.fault) for e in sandbox.calls("servicePayment/pay/")] == [(0, "hold")]


async def test_faults_of_every_kind_queue_in_order(sandbox, http):
    sandbox.fail_next("servicePayment/list/", "429")
    sandbox.fail_next("servicePayment/list/", "error", code="server_error")
    sandbox.fail_next("servicePayment/list/", "garbage")
    sandbox.fail_next("servicePayment/list/", "500")
    hold = sandbox.hold_next("servicePayment/list/")
    hold.release()  # released before it is reached: it passes straight through
    statuses = [(await http.get("/servicePayment/list/")).status_code for _ in range(6)]
    assert statuses == [429, 400, 200, 500, 200, 200]
    assert [(e.status, e.fault) for e in sandbox.calls("servicePayment/list/")] == [
        (429, "429"), (400, "error"), (200, "garbage"), (500, "500"), (200, "hold"), (200, None)]
