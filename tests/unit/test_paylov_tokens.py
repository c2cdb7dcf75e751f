"""The Paylov client's token handling, against the real emulator: cached, renewed before expiry, 401 retried once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.providers.errors import ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable
from bot.providers.paylov import PaylovClient
from bot.sandbox.paylov import PaylovSandbox


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def setup():
    clock = Clock()
    sandbox = PaylovSandbox(clock=clock, token_ttl=600)
    await sandbox.start()
    async with httpx.AsyncClient(timeout=httpx.Timeout(1.0, connect=1.0)) as http:
        client = PaylovClient(http, base_url=sandbox.base_url, username=sandbox.USERNAME, password=sandbox.PASSWORD,
                              consumer_key=sandbox.CONSUMER_KEY, consumer_secret=sandbox.CONSUMER_SECRET,
                              clock=clock, renew_margin=60)
        yield sandbox, client, clock
    await sandbox.stop()


def grants(sandbox) -> list[str]:
    return [entry.body["grant_type"] for entry in sandbox.calls("oauth2/token/")]


async def test_token_is_cached(setup):
    sandbox, client, _ = setup
    await client.list_services()
    await client.list_services()
    await client.service_fields((await client.list_services())[0].service_id)
    assert grants(sandbox) == ["password"]


async def test_renewed_before_expiry_with_the_refresh_grant(setup):
    sandbox, client, clock = setup
    await client.list_services()
    clock.now += 600 - 30  # inside the renewal margin, still valid at the provider
    await client.list_services()
    assert grants(sandbox) == ["password", "refresh_token"]
    assert all(entry.status == 200 for entry in sandbox.calls("servicePayment/list/"))


async def test_401_renews_once_and_retries_once(setup):
    sandbox, client, _ = setup
    await client.list_services()
    sandbox.expire_tokens()
    services = await client.list_services()
    assert services and [e.status for e in sandbox.calls("servicePayment/list/")] == [200, 401, 200]
    assert len(grants(sandbox)) == 2


async def test_concurrent_calls_renew_once(setup):
    sandbox, client, _ = setup
    await asyncio.gather(*(client.list_services() for _ in range(5)))
    assert grants(sandbox) == ["password"]


async def test_provider_error_is_typed(setup):
    _, client, _ = setup
    with pytest.raises(ProviderRejected) as error:
        await client.transaction_status("no-such-transaction")
    assert error.value.code == "transaction_not_found" and error.value.message


async def test_bad_credentials(setup):
    sandbox, client, _ = setup
    client._password = "wrong"
    with pytest.raises(ProviderRejected) as error:
        await client.list_services()
    assert error.value.code == "invalid_grant"


@pytest.mark.parametrize("mode", ["timeout", "drop", "500"])
async def test_no_answer_to_a_call_with_effect_is_outcome_unknown(setup, mode):
    sandbox, client, _ = setup
    sandbox.fail_next("userCard/createUserCard/", mode)
    with pytest.raises(ProviderOutcomeUnknown):
        await client.create_user_card("7", "8600069195406311", "9903", None)
    assert len(sandbox.calls("userCard/createUserCard/")) == 1  # never sent twice


async def test_a_dropped_read_is_asked_once_more(setup):
    sandbox, client, _ = setup
    await client.list_services()
    sandbox.fail_next("servicePayment/list/", "drop")
    assert await client.list_services()
    assert len(sandbox.calls("servicePayment/list/")) == 3


async def test_closed_port_is_unavailable():
    async with httpx.AsyncClient(timeout=1.0) as http:
        client = PaylovClient(http, base_url="http://127.0.0.1:9", username="u", password="p",
                              consumer_key="k", consumer_secret="s")
        with pytest.raises(ProviderUnavailable):
            await client.list_services()


async def test_float_amounts_never_leave(setup):
    _, client, _ = setup
    with pytest.raises(TypeError):
        await client.create_payment("x", {}, 15000.0, "1", None, None)  # type: ignore[arg-type]
