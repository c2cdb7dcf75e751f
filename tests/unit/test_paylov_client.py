"""PaylovClient against the real Paylov emulator on 127.0.0.1: tokens, envelopes, typed errors, transport faults.

One fake clock drives both sides, so tokens expire without waiting; the ledger shows what reached the provider.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import httpx
import pytest

from bot.providers.errors import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.providers.http import make_http_client
from bot.providers.paylov import PaylovClient
from bot.providers.paylov_models import Card, CardStatus
from bot.sandbox import paylov_catalogue as data
from bot.sandbox.paylov import PaylovSandbox

CARD_NUMBER = "8600069195406311"  # seed 001 test card, accepted by the emulator
ACCOUNT = {"region": "1", "soato": "26280", "customer_code": "1000001"}
USER = "42"
TOKEN_TTL = 600
MARGIN = 60


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    sandbox: PaylovSandbox
    client: PaylovClient
    clock: Clock


def make_client(http: httpx.AsyncClient, base_url: str, clock: Clock, **override: str) -> PaylovClient:
    credentials = {
        "username": PaylovSandbox.USERNAME,
        "password": PaylovSandbox.PASSWORD,
        "consumer_key": PaylovSandbox.CONSUMER_KEY,
        "consumer_secret": PaylovSandbox.CONSUMER_SECRET,
        **override,
    }
    return PaylovClient(http, base_url=base_url, clock=clock, renew_margin=MARGIN, **credentials)


@asynccontextmanager
async def running(client_clock: Clock, sandbox_clock: Clock | None = None, **sandbox_options) -> AsyncIterator[Env]:
    sandbox = PaylovSandbox(clock=sandbox_clock or client_clock, **{"token_ttl": TOKEN_TTL, **sandbox_options})
    base_url = await sandbox.start()
    try:
        async with make_http_client(read=0.5, connect=0.5) as http:
            yield Env(sandbox, make_client(http, base_url, client_clock), client_clock)
    finally:
        await sandbox.stop()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with running(Clock()) as started:
        yield started


def grants(sandbox: PaylovSandbox) -> list[str]:
    return [entry.body["grant_type"] for entry in sandbox.calls("merchant/oauth2/token/")]


def statuses(sandbox: PaylovSandbox, path: str) -> list[int]:
    return [entry.status for entry in sandbox.calls(path)]


async def bind_card(client: PaylovClient) -> Card:
    sent = await client.create_user_card(USER, CARD_NUMBER, data.TEST_EXPIRY, None)
    return await client.confirm_user_card(sent.cid, data.OTP)


async def created_with_card(client: PaylovClient, amount: int = 15_000) -> tuple[Card, str]:
    card = await bind_card(client)
    created = await client.create_payment(data.ELECTRICITY, ACCOUNT, amount, USER, card.card_id, None)
    return card, created.transaction_id


# ---- token -----------------------------------------------------------------------------------------------------


async def test_one_token_serves_many_calls(env: Env):
    services = await env.client.list_services()
    await env.client.service_fields(services[0].service_id)
    await env.client.info(data.ELECTRICITY, ACCOUNT)
    with pytest.raises(ProviderRejected):
        await env.client.transaction_status("no-such-transaction")
    assert grants(env.sandbox) == ["password"]


async def test_renewed_with_the_refresh_grant_shortly_before_expiry(env: Env):
    await env.client.list_services()
    env.clock.now += TOKEN_TTL - MARGIN - 10  # not yet inside the margin
    await env.client.list_services()
    assert grants(env.sandbox) == ["password"]
    env.clock.now += 20  # inside the margin, still valid at the provider
    await env.client.list_services()
    assert grants(env.sandbox) == ["password", "refresh_token"]
    assert statuses(env.sandbox, "servicePayment/list/") == [200, 200, 200]  # renewed before, not after, a 401


async def test_password_grant_once_the_refresh_token_has_expired():
    async with running(Clock(), refresh_ttl=1_000) as env:
        await env.client.list_services()
        env.clock.now += 5_000
        await env.client.list_services()
        assert grants(env.sandbox) == ["password", "password"]


async def test_refused_refresh_grant_falls_back_to_the_password_grant():
    client_clock, sandbox_clock = Clock(), Clock()
    async with running(client_clock, sandbox_clock, refresh_ttl=1_000) as env:
        await env.client.list_services()
        client_clock.now += TOKEN_TTL - 30  # the client believes its refresh token still good...
        sandbox_clock.now += 5_000  # ...the provider has let it lapse
        await env.client.list_services()
        assert grants(env.sandbox) == ["password", "refresh_token", "password"]
        assert [entry.status for entry in env.sandbox.calls("merchant/oauth2/token/")] == [200, 400, 200]


async def test_401_renews_once_and_retries_once(env: Env):
    await env.client.list_services()
    env.sandbox.expire_tokens()
    assert await env.client.list_services()
    assert statuses(env.sandbox, "servicePayment/list/") == [200, 401, 200]
    assert grants(env.sandbox) == ["password", "refresh_token"]


async def test_401_on_pay_is_retried_once_and_charges_once(env: Env):
    card, transaction_id = await created_with_card(env.client, amount=15_000)
    env.sandbox.expire_tokens()
    paid = await env.client.pay(transaction_id, card.card_id, USER, data.OTP)
    assert paid.transaction_id == transaction_id and paid.payment_ref
    assert statuses(env.sandbox, "servicePayment/pay/") == [401, 200]
    assert env.sandbox.card_balance(USER, card.card_id) == 500_000_000 - 15_000 * 100


async def test_a_second_401_is_a_rejection_not_another_retry():
    async with running(Clock(), token_ttl=0) as env:  # every token is dead on arrival
        with pytest.raises(ProviderRejected) as error:
            await env.client.list_services()
        assert error.value.code == "unauthorized"
        assert statuses(env.sandbox, "servicePayment/list/") == [401, 401]
        assert grants(env.sandbox) == ["password", "refresh_token"]


async def test_concurrent_calls_make_one_token_request(env: Env):
    await asyncio.gather(*(env.client.list_services() for _ in range(5)))
    assert grants(env.sandbox) == ["password"]


async def test_concurrent_401s_renew_once(env: Env):
    await env.client.list_services()
    env.sandbox.expire_tokens()
    await asyncio.gather(*(env.client.list_services() for _ in range(5)))
    assert grants(env.sandbox) == ["password", "refresh_token"]
    assert statuses(env.sandbox, "servicePayment/list/").count(200) == 6


async def test_bad_credentials_are_rejected_with_the_provider_code(env: Env):
    async with make_http_client() as http:
        wrong_password = make_client(http, env.sandbox.base_url, env.clock, password="wrong")
        with pytest.raises(ProviderRejected) as error:
            await wrong_password.list_services()
        assert error.value.code == "invalid_grant"
        wrong_secret = make_client(http, env.sandbox.base_url, env.clock, consumer_secret="wrong")
        with pytest.raises(ProviderRejected) as error:
            await wrong_secret.list_services()
        assert error.value.code == "invalid_client"
    assert env.sandbox.calls("servicePayment/list/") == []


# ---- envelope and typed errors ---------------------------------------------------------------------------------


async def test_error_envelope_is_a_typed_rejection(env: Env):
    with pytest.raises(ProviderRejected) as error:
        await env.client.transaction_status("no-such-transaction")
    assert error.value.code == "transaction_not_found" and error.value.message
    assert statuses(env.sandbox, "servicePayment/transaction/status/") == [400]

    with pytest.raises(ProviderRejected) as error:
        await env.client.info(data.ELECTRICITY, {**ACCOUNT, "customer_code": "9999999"})
    assert error.value.code == "account_not_found"

    with pytest.raises(ProviderRejected) as error:
        await env.client.create_user_card(USER, "3333336415804657", data.TEST_EXPIRY, None)
    assert error.value.code == "card_expired"

    sent = await env.client.create_user_card(USER, CARD_NUMBER, data.TEST_EXPIRY, None)
    with pytest.raises(ProviderRejected) as error:
        await env.client.confirm_user_card(sent.cid, "000000")
    assert error.value.code == "invalid_otp"
    assert "000000" not in str(error.value) and CARD_NUMBER not in str(error.value)


async def test_amount_must_be_whole_sums(env: Env):
    for amount in (15_000.0, True):
        with pytest.raises(TypeError):
            await env.client.create_payment(data.ELECTRICITY, ACCOUNT, amount, USER, None, None)  # type: ignore
    assert env.sandbox.calls("servicePayment/create/") == []


# ---- transport faults ------------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_closed_port_is_unavailable():
    async with make_http_client(read=0.5, connect=0.5) as http:
        client = make_client(http, f"http://127.0.0.1:{closed_port()}", Clock())
        with pytest.raises(ProviderUnavailable):
            await client.list_services()
        with pytest.raises(ProviderUnavailable):
            await client.pay("transaction", "card", USER, data.OTP)


async def test_token_endpoint_failure_means_the_call_was_never_sent(env: Env):
    env.sandbox.fail_next("merchant/oauth2/token/", "500")
    with pytest.raises(ProviderUnavailable):
        await env.client.pay("transaction", "card", USER, data.OTP)
    assert env.sandbox.calls("servicePayment/pay/") == []


@pytest.mark.parametrize(("mode", "apply"), [("timeout", True), ("drop", True), ("500", True), ("drop", False)])
async def test_pay_without_an_answer_is_outcome_unknown_and_not_resent(env: Env, mode: str, apply: bool):
    card, transaction_id = await created_with_card(env.client)
    env.sandbox.fail_next("servicePayment/pay/", mode, apply=apply)
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.pay(transaction_id, card.card_id, USER, data.OTP)
    assert len(env.sandbox.calls("servicePayment/pay/")) == 1
    status = await env.client.transaction_status(transaction_id)  # what the caller does instead of resending
    assert status.status == ("paid" if apply else "created")


@pytest.mark.parametrize("mode", ["drop", "500"])
async def test_idempotent_read_is_resent_once(env: Env, mode: str):
    env.sandbox.fail_next("servicePayment/list/", mode)
    assert await env.client.list_services()
    assert len(env.sandbox.calls("servicePayment/list/")) == 2


async def test_idempotent_read_that_times_out_is_outcome_unknown_without_resend(env: Env):
    env.sandbox.fail_next("servicePayment/list/", "timeout")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.list_services()
    assert len(env.sandbox.calls("servicePayment/list/")) == 1


async def test_unreadable_answers_are_outcome_unknown_and_plain_4xx_a_rejection():
    """Shapes the emulator never produces, so only the transport is faked here."""

    def provider(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token/"):
            return httpx.Response(200, json={"access_token": "t", "refresh_token": "r", "expires_in": 3600,
                                             "refresh_expires_in": 7200})
        if request.url.path.endswith("/pay/"):
            return httpx.Response(200, json={"result": {"unexpected": 1}, "error": None})
        if request.url.path.endswith("/create/"):
            return httpx.Response(200, text="<html>ok</html>")
        return httpx.Response(404, text="<html>not found</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        client = make_client(http, "http://paylov.test", Clock())
        with pytest.raises(ProviderOutcomeUnknown):
            await client.pay("transaction", "card", USER, data.OTP)
        with pytest.raises(ProviderOutcomeUnknown):
            await client.create_payment(data.ELECTRICITY, ACCOUNT, 500, USER, None, None)
        with pytest.raises(ProviderRejected) as error:
            await client.list_services()
        assert error.value.code == "http_404"


async def test_oauth_style_token_error_is_a_rejection():
    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": "bad credentials"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        with pytest.raises(ProviderRejected) as error:
            await make_client(http, "http://paylov.test", Clock()).list_services()
        assert error.value.code == "invalid_grant"


# ---- faults on command: 429, error, garbage, hold ------------------------------------------------------------


# A 429 did nothing: the client says so (a rejection, or "unavailable"), never "outcome unknown".
NOTHING_HAPPENED = (ProviderRejected, ProviderUnavailable)


async def test_429_with_a_long_retry_after_says_nothing_happened_and_is_not_resent(env: Env):
    env.sandbox.fail_next("servicePayment/info/", "429", retry_after=30)
    with pytest.raises(NOTHING_HAPPENED):
        await env.client.info(data.ELECTRICITY, ACCOUNT)  # an idempotent read, and still not sent again
    assert statuses(env.sandbox, "servicePayment/info/") == [429]


async def test_429_on_pay_says_nothing_happened(env: Env):
    card, transaction_id = await created_with_card(env.client)
    env.sandbox.fail_next("servicePayment/pay/", "429", retry_after=1)
    with pytest.raises(NOTHING_HAPPENED):
        await env.client.pay(transaction_id, card.card_id, USER, data.OTP)
    assert statuses(env.sandbox, "servicePayment/pay/") == [429]  # a charge is never sent again by the client
    assert (await env.client.transaction_status(transaction_id)).status == "created"


async def test_429_at_the_token_endpoint_means_the_call_was_never_sent(env: Env):
    env.sandbox.fail_next("merchant/oauth2/token/", "429")
    with pytest.raises(NOTHING_HAPPENED):
        await env.client.pay("transaction", "card", USER, data.OTP)
    assert env.sandbox.calls("servicePayment/pay/") == []


async def test_a_documented_error_on_pay_is_a_rejection_and_nothing_was_charged(env: Env):
    card, transaction_id = await created_with_card(env.client)
    env.sandbox.fail_next("servicePayment/pay/", "error", code="insufficient_funds")
    with pytest.raises(ProviderRejected) as error:
        await env.client.pay(transaction_id, card.card_id, USER, data.OTP)
    assert (error.value.code, error.value.message) == ("insufficient_funds", "Недостаточно средств")
    assert (await env.client.transaction_status(transaction_id)).status == "created"


@pytest.mark.parametrize("apply", [False, True])
async def test_garbage_on_pay_is_outcome_unknown_and_not_resent(env: Env, apply: bool):
    card, transaction_id = await created_with_card(env.client)
    env.sandbox.fail_next("servicePayment/pay/", "garbage", apply=apply)
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.pay(transaction_id, card.card_id, USER, data.OTP)
    assert statuses(env.sandbox, "servicePayment/pay/") == [200]
    assert (await env.client.transaction_status(transaction_id)).status == ("paid" if apply else "created")


async def test_garbage_on_a_read_is_outcome_unknown_and_not_resent(env: Env):
    env.sandbox.fail_next("servicePayment/info/", "garbage", apply=False)
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.info(data.ELECTRICITY, ACCOUNT)
    assert [entry.fault for entry in env.sandbox.calls("servicePayment/info/")] == ["garbage"]


async def test_a_held_pay_is_answered_once_released(env: Env):
    card, transaction_id = await created_with_card(env.client)
    hold = env.sandbox.hold_next("servicePayment/pay/")
    paying = asyncio.create_task(env.client.pay(transaction_id, card.card_id, USER, data.OTP))
    await hold.reached()
    assert not paying.done() and env.sandbox.transaction(transaction_id)["status"] == "created"
    hold.release()
    paid = await paying
    assert paid.transaction_id == transaction_id
    assert env.sandbox.card_balance(USER, card.card_id) == card.balance - 15_000 * 100


# ---- models over a whole flow ----------------------------------------------------------------------------------


async def test_models_over_a_whole_flow(env: Env, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    client = env.client

    services = {service.service_id: service for service in await client.list_services()}
    electricity = services[data.ELECTRICITY]
    assert isinstance(electricity.amount.min, int) and electricity.category.id == 3

    form = await client.service_fields(data.ELECTRICITY)
    assert form.service_id == data.ELECTRICITY
    assert [field.name for field in form.fields] == ["region", "soato", "customer_code"]
    assert form.fields[1].dependency_of == "region" and form.fields[1].values[0].filter == "1"
    assert "saldo" in {field.name for field in form.response_fields}

    info = {item.name: item for item in await client.info(data.ELECTRICITY, ACCOUNT)}
    assert info["fio"].value == "ALIYEV VALI" and info["saldo"].title == "balance"

    sent = await client.create_user_card(USER, CARD_NUMBER, data.TEST_EXPIRY, "+998901234567")
    assert sent.cid and sent.otp_sent_phone.endswith("4567") and "+998" not in sent.otp_sent_phone
    card = await client.confirm_user_card(sent.cid, data.OTP, card_name="Main")
    assert card.number == "860006******6311" and card.expire_date == data.TEST_EXPIRY
    assert card.card_name == "Main" and isinstance(card.balance, int)
    assert [c.card_id for c in await client.user_cards(USER)] == [card.card_id]
    fetched = await client.get_card(card.card_id)  # status nested under status.result on the wire
    assert fetched.status == CardStatus(sms_info=True, is_active=True, status_message=fetched.status.status_message)

    created = await client.create_payment(data.ELECTRICITY, ACCOUNT, 15_000, USER, card.card_id, None)
    assert created.otp_sent_phone and created.otp_sent_phone.endswith("4567")
    assert any(item.name == "fio" for item in created.data)
    paid = await client.pay(created.transaction_id, card.card_id, USER, data.OTP)
    assert paid.card_id == card.card_id and paid.payed_at and paid.epos_terminal
    status = await client.transaction_status(created.transaction_id)
    assert (status.status, status.amount, status.service_id) == ("paid", 15_000, data.ELECTRICITY)

    today = date.fromtimestamp(env.clock.now)
    history = await client.transactions(user_id=USER, begin=today, end=today)
    assert [(tx.id, tx.amount) for tx in history] == [(created.transaction_id, 15_000)]
    assert env.sandbox.calls("servicePayment/transaction/all/")[-1].query == {
        "userId": USER, "beginDate": today.isoformat(), "endDate": today.isoformat()}
    assert await client.transactions(user_id="someone-else") == []

    assert await client.delete_user_card(card.card_id) is None
    assert await client.user_cards(USER) == []
    with pytest.raises(ProviderRejected) as error:
        await client.get_card(card.card_id)
    assert error.value.code == "card_not_found"

    # Only method, path, status and duration are logged: never a card number, a code or a token.
    tokens = [entry.response["access_token"] for entry in env.sandbox.calls("merchant/oauth2/token/")]
    for secret in (CARD_NUMBER, data.OTP, "+998901234567", *tokens):
        assert secret not in caplog.text
    assert "paylov POST servicePayment/pay/ -> 200" in caplog.text
