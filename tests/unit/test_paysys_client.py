"""PaysysClient against the PaySys cash2card emulator on 127.0.0.1: the signed Auth header, the envelope, typed
errors, 429s waited out (both Retry-After forms), and a lost confirm answer settled by check_remittance.

The provider's clock and the client's are one hand-moved clock; the client's `sleep` moves it instead of sleeping.
A few answers the emulator never gives (a `false` cancel, an unknown status, another request id) are faked at the
transport (httpx.MockTransport), never inside our code.
"""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from bot.providers.errors import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from bot.providers.http import make_http_client
from bot.providers.paysys import (
    PassportDoc,
    PaysysClient,
    PaysysRejected,
    PayoutStatus,
    Sender,
    paysys_auth,
    tashkent_day,
)
from bot.sandbox.paysys import DEPOSIT, PaysysSandbox

SERVICE, SECRET = "05e3bab097f42yu0a62ced0b", "not-the-sandbox-default"
OK, SLOW, FAIL, REVERSE = "8600310000000117", "8600310000000216", "8600310000000315", "8600310000000414"
BLOCKED, UNKNOWN = "8600310000000513", "8600310000000612"
SENDER = Sender(last_name="Testov", first_name="Test")
NOW = 1_800_000_000


@dataclass
class Clock:
    now: float = float(NOW)
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """The client's wait for a 429: recorded, and the shared clock moves on instead of the test sleeping."""
        self.sleeps.append(seconds)
        self.advance(seconds)


@dataclass
class Env:
    paysys: PaysysSandbox
    client: PaysysClient
    clock: Clock


def make_client(http: httpx.AsyncClient, base_url: str, clock: Clock, **kwargs) -> PaysysClient:
    return PaysysClient(http, base_url=base_url, service_id=SERVICE, secret_key=SECRET, clock=clock,
                        sleep=clock.sleep, **kwargs)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = Clock()
    paysys = PaysysSandbox(service_id=SERVICE, secret_key=SECRET, clock=clock, rate_limit=1000)
    base_url = await paysys.start()
    try:
        async with make_http_client(read=0.5, connect=0.5) as http:
            yield Env(paysys, make_client(http, base_url, clock), clock)
    finally:
        await paysys.stop()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def faked(answer: dict | bytes, status: int = 200) -> PaysysClient:
    """A client whose transport answers `answer` (with the request's own id, unless the answer names one)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, bytes):
            return httpx.Response(status, content=answer)
        body = {"id": json.loads(request.content)["id"], **answer}
        return httpx.Response(status, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return PaysysClient(http, base_url="http://paysys.test/gateway", service_id=SERVICE, secret_key=SECRET)


# ---- the signer ----------------------------------------------------------------------------------------------------


def test_the_signer_gives_providers_md_worked_example():
    assert paysys_auth("05e3bab097f42yu0a62ced0b", "secret", 1399114284039) == (
        "05e3bab097f42yu0a62ced0b-b4c60339801620875cb8e4bb1eb15a7fbbcfd3ba-1399114284039")


@pytest.mark.parametrize("stamp", [1399114284.039, "1399114284039", True, -1])
def test_the_signer_takes_integer_milliseconds_only(stamp):
    with pytest.raises(TypeError):
        paysys_auth("id", "secret", stamp)


async def test_every_request_is_signed_afresh_and_shaped_like_the_seed(env: Env):
    await env.client.statement(0, 1)
    env.clock.advance(600)  # a reused header would now be ten minutes stale
    await env.client.statement(0, 1)
    entries = env.paysys.calls("statement")
    assert [entry.auth for entry in entries] == ["ok", "ok"]
    for entry in entries:
        assert set(entry.body) == {"method", "params", "id"}  # the seed's examples: no "jsonrpc" member
        assert entry.body["method"] == "cash2card.statement" and uuid.UUID(entry.body["id"])
    assert entries[0].body["id"] != entries[1].body["id"]


async def test_a_wrong_key_is_a_rejection(env: Env):
    async with make_http_client(read=0.5, connect=0.5) as http:
        client = PaysysClient(http, base_url=env.paysys.base_url, service_id=SERVICE, secret_key="wrong",
                              clock=env.clock)
        with pytest.raises(PaysysRejected) as caught:
            await client.check_remittance(1)
    assert caught.value.number == -32504 and caught.value.code == "-32504"
    assert env.paysys.ledger[-1].auth == "bad_hash"


# ---- the happy path --------------------------------------------------------------------------------------------------


async def test_a_payout_from_prepare_to_statement(env: Env):
    prepared = await env.client.prepare_remittance(10181, "8600 3100 0000 0117", 400_000, SENDER)
    assert (prepared.partner_transaction_id, prepared.amount, prepared.total) == (10181, 400_000, 402_000)
    assert prepared.commission == Decimal("0.5") and isinstance(prepared.commission, Decimal)
    assert (prepared.recipient_card, prepared.recipient_name) == ("860031******0117", "ALIYEV VALI")
    assert prepared.masked_phone_number == "+99890*****17"
    [entry] = env.paysys.calls("prepare_remittance")
    assert entry.params == {"partner_transaction_id": 10181, "card_number": OK, "amount": 400_000,
                            "sender": {"last_name": "Testov", "first_name": "Test", "middle_name": ""}}

    confirmed = await env.client.confirm_remittance(prepared.transaction_id)
    assert (confirmed.transaction_id, confirmed.status, confirmed.date) == (prepared.transaction_id,
                                                                           PayoutStatus.COMPLETED, NOW)
    assert confirmed.created_at == datetime.fromtimestamp(NOW, UTC)
    assert env.paysys.deposit == DEPOSIT - 402_000

    checked = await env.client.check_remittance(10181)
    assert (checked.status, checked.transaction_id, checked.card_number, checked.amount) == (
        PayoutStatus.COMPLETED, prepared.transaction_id, "860031******0117", 400_000)

    day = datetime.fromtimestamp(NOW, timezone(timedelta(hours=5))).date()
    [row] = await env.client.statement(*tashkent_day(day))
    assert (row.status, row.transaction_id, row.partner_transaction_id, row.amount, row.commission_amount,
            row.date, row.recipient_card_number) == (PayoutStatus.COMPLETED, prepared.transaction_id, 10181,
                                                     400_000, 2_000, NOW, "860031******0117")
    assert await env.client.statement(datetime.fromtimestamp(NOW + 1, UTC), datetime.fromtimestamp(NOW + 9, UTC)) == []


async def test_cancel_a_prepared_payout(env: Env):
    prepared = await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    assert await env.client.cancel(prepared.transaction_id) is True
    assert (await env.client.check_remittance(1)).status == PayoutStatus.CANCELLED
    assert env.paysys.deposit == DEPOSIT


async def test_the_slow_failing_and_reversing_cards(env: Env):
    slow = await env.client.prepare_remittance(1, SLOW, 400_000, SENDER)
    assert (await env.client.confirm_remittance(slow.transaction_id)).status == PayoutStatus.CREATED
    assert (await env.client.check_remittance(1)).status == PayoutStatus.CREATED
    env.clock.advance(60)
    assert (await env.client.check_remittance(1)).status == PayoutStatus.COMPLETED

    failed = await env.client.prepare_remittance(2, FAIL, 400_000, SENDER)
    assert (await env.client.confirm_remittance(failed.transaction_id)).status == PayoutStatus.ERROR
    assert env.paysys.deposit == DEPOSIT - 402_000  # only the slow one

    reversing = await env.client.prepare_remittance(3, REVERSE, 400_000, SENDER)
    assert (await env.client.confirm_remittance(reversing.transaction_id)).status == PayoutStatus.COMPLETED
    env.paysys.settle()
    assert (await env.client.check_remittance(3)).status == PayoutStatus.REVERSED
    assert env.paysys.deposit == DEPOSIT - 402_000
    statuses = [row.status for row in await env.client.statement(NOW, NOW + 3600)]
    assert statuses == [PayoutStatus.COMPLETED, PayoutStatus.ERROR, PayoutStatus.REVERSED]


async def test_a_doc_goes_at_the_params_level_by_its_wire_names(env: Env):
    doc = PassportDoc(nationality="860", seriesNumber="AA0000001", birthDate="25.01.1990", validTo="25.01.2030")
    amount = env.paysys.doc_threshold * 100
    prepared = await env.client.prepare_remittance(1, OK, amount, SENDER, doc=doc)
    assert prepared.amount == amount
    assert env.paysys.calls("prepare_remittance")[0].params["doc"] == {
        "nationality": "860", "type": "passport", "seriesNumber": "AA0000001", "birthDate": "25.01.1990",
        "validTo": "25.01.2030"}
    assert "AA0000001" not in repr(doc)


# ---- errors ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("card, amount, code", [
    (BLOCKED, 400_000, -20012), (UNKNOWN, 400_000, -20011), ("8600310000000118", 400_000, -20010),
    (OK, 99_999, -20001), (OK, 1_875_000_000, -20002), (OK, 400_000, -20020),
])
async def test_refusals_at_prepare_are_rejections_with_the_code(env: Env, card, amount, code):
    env.paysys.deposit = 401_999  # one tiyin short of the total of 400 000
    with pytest.raises(PaysysRejected) as caught:
        await env.client.prepare_remittance(1, card, amount, SENDER)
    assert isinstance(caught.value, ProviderRejected)
    assert (caught.value.number, caught.value.code) == (code, str(code)) and caught.value.message


async def test_refusals_after_prepare(env: Env):
    prepared = await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    with pytest.raises(PaysysRejected) as duplicate:
        await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    await env.client.confirm_remittance(prepared.transaction_id)
    with pytest.raises(PaysysRejected) as again:
        await env.client.confirm_remittance(prepared.transaction_id)
    with pytest.raises(PaysysRejected) as late_cancel:
        await env.client.cancel(prepared.transaction_id)
    with pytest.raises(PaysysRejected) as unknown:
        await env.client.check_remittance(2)
    assert [e.value.number for e in (duplicate, again, late_cancel, unknown)] == [-20004, -20031, -20031, -20030]
    assert env.paysys.deposit == DEPOSIT - 402_000


class RawLog(logging.Handler):
    """What our provider loggers emit, before the root handler's redaction rewrites it: the test must hold without
    that safety net."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, record.getMessage()))


@pytest.fixture
def raw_log() -> AsyncIterator[RawLog]:
    handler = RawLog()
    loggers = [logging.getLogger(name) for name in ("bot.providers.paysys", "bot.providers.answers")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels):
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_an_unknown_code_is_a_rejection_logged_by_code_only(env: Env, raw_log: RawLog):
    prepared = await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    env.paysys.fail_next("confirm_remittance", "error", code=-77777)
    with pytest.raises(PaysysRejected) as caught:
        await env.client.confirm_remittance(prepared.transaction_id)
    assert caught.value.number == -77777
    warnings = [line for level, line in raw_log.lines if level >= logging.WARNING]
    assert warnings == ["paysys cash2card.confirm_remittance refused with error -77777"]


async def test_the_log_holds_no_card_name_secret_or_body(env: Env, raw_log: RawLog):
    prepared = await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    await env.client.confirm_remittance(prepared.transaction_id)
    await env.client.check_remittance(1)
    await env.client.statement(0, NOW + 10)
    with pytest.raises(PaysysRejected):
        await env.client.prepare_remittance(2, BLOCKED, 400_000, SENDER)
    env.paysys.fail_next("check_remittance", "garbage")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.check_remittance(1)
    text = "\n".join(line for _, line in raw_log.lines)
    assert "paysys cash2card.prepare_remittance -> 200" in text and "not the JSON-RPC envelope" in text
    for secret in (OK, OK[-4:], BLOCKED[-4:], "Testov", "ALIYEV", SECRET, "Card is blocked", "400000", "402000",
                   env.paysys.ledger[0].body["id"]):
        assert secret not in text
    assert SECRET not in repr(env.client)


async def test_a_closed_port_is_unavailable():
    clock = Clock()
    async with make_http_client(read=0.5, connect=0.5) as http:
        client = make_client(http, f"http://127.0.0.1:{closed_port()}/gateway", clock)
        with pytest.raises(ProviderUnavailable) as caught:
            await client.confirm_remittance(1)
    assert not isinstance(caught.value, ProviderThrottled)


async def test_amounts_and_ids_are_ints(env: Env):
    for bad in (400_000.0, Decimal(400_000), "400000", True):
        with pytest.raises(TypeError):
            await env.client.prepare_remittance(1, OK, bad, SENDER)
    with pytest.raises(TypeError):
        await env.client.confirm_remittance("2354812")
    with pytest.raises(ValueError):
        await env.client.statement(datetime(2027, 1, 15), datetime(2027, 1, 16))  # naive: whose midnight?
    assert env.paysys.ledger == []


# ---- 429 -------------------------------------------------------------------------------------------------------------


async def test_a_429_with_retry_after_in_seconds_is_waited_out(env: Env):
    prepared = await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    env.paysys.fail_next("confirm_remittance", "429", retry_after=2)
    confirmed = await env.client.confirm_remittance(prepared.transaction_id)
    assert confirmed.status == PayoutStatus.COMPLETED and env.clock.sleeps == [2.0]
    assert [(e.status, e.fault) for e in env.paysys.calls("confirm_remittance")] == [(429, "429"), (200, None)]
    assert env.paysys.deposit == DEPOSIT - 402_000


async def test_a_429_with_retry_after_as_an_http_date_is_waited_out(env: Env):
    prepared = await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    env.paysys.fail_next("confirm_remittance", "429", retry_after=datetime.fromtimestamp(NOW + 3, UTC))
    assert (await env.client.confirm_remittance(prepared.transaction_id)).status == PayoutStatus.COMPLETED
    assert env.clock.sleeps == [3.0]


async def test_the_rate_limit_is_waited_out(env: Env):
    async with make_http_client(read=0.5, connect=0.5) as http:
        for form in ("seconds", "date"):
            clock = Clock()
            paysys = PaysysSandbox(service_id=SERVICE, secret_key=SECRET, clock=clock, rate_limit=2, rate_window=4,
                                   retry_after_form=form)
            client = make_client(http, await paysys.start(), clock)
            try:
                for _ in range(3):
                    await client.statement(0, 1)
                assert clock.sleeps == [4.0], form
                assert [e.status for e in paysys.calls("statement")] == [200, 200, 429, 200]
            finally:
                await paysys.stop()


async def test_429_waits_are_bounded(env: Env):
    for _ in range(3):
        env.paysys.fail_next("check_remittance", "429", retry_after=1)
    with pytest.raises(ProviderThrottled) as caught:
        await env.client.check_remittance(1)
    assert isinstance(caught.value, ProviderUnavailable) and caught.value.retry_after == 1.0
    assert env.clock.sleeps == [1.0, 1.0] and len(env.paysys.calls("check_remittance")) == 3


@pytest.mark.parametrize("retry_after", [60, "soon"])
async def test_a_long_or_unreadable_retry_after_is_not_waited(env: Env, retry_after):
    env.paysys.fail_next("check_remittance", "429", retry_after=retry_after)
    with pytest.raises(ProviderThrottled) as caught:
        await env.client.check_remittance(1)
    assert caught.value.retry_after == (60.0 if retry_after == 60 else None) and env.clock.sleeps == []


# ---- lost answers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["drop", "timeout", "garbage", "500"])
async def test_a_lost_confirm_answer_is_settled_by_check_remittance(env: Env, mode):
    prepared = await env.client.prepare_remittance(10181, OK, 400_000, SENDER)
    env.paysys.fail_next("confirm_remittance", mode, apply=True)  # PaySys confirms, the answer is lost
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.confirm_remittance(prepared.transaction_id)
    assert len(env.paysys.calls("confirm_remittance")) == 1  # never sent again
    checked = await env.client.check_remittance(10181)
    assert (checked.status, checked.transaction_id) == (PayoutStatus.COMPLETED, prepared.transaction_id)
    assert env.paysys.deposit == DEPOSIT - 402_000  # debited once


async def test_a_confirm_lost_before_the_work_leaves_the_payout_prepared(env: Env):
    prepared = await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    env.paysys.fail_next("confirm_remittance", "drop", apply=False)
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.confirm_remittance(prepared.transaction_id)
    assert (await env.client.check_remittance(1)).status == PayoutStatus.CREATED
    assert await env.client.cancel(prepared.transaction_id) is True  # so the caller may cancel it


async def test_a_lost_prepare_answer_is_found_by_check_remittance(env: Env):
    env.paysys.fail_next("prepare_remittance", "drop")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.prepare_remittance(5, OK, 400_000, SENDER)
    assert len(env.paysys.calls("prepare_remittance")) == 1
    assert (await env.client.check_remittance(5)).status == PayoutStatus.CREATED


async def test_reads_are_resent_once_after_a_drop_or_a_5xx(env: Env):
    await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    env.paysys.fail_next("check_remittance", "drop")
    assert (await env.client.check_remittance(1)).status == PayoutStatus.CREATED
    env.paysys.fail_next("statement", "500")
    assert len(await env.client.statement(NOW, NOW)) == 1
    env.paysys.fail_next("check_remittance", "drop")
    env.paysys.fail_next("check_remittance", "500")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.check_remittance(1)
    assert len(env.paysys.calls("check_remittance")) == 4


async def test_cancel_is_never_resent(env: Env):
    prepared = await env.client.prepare_remittance(1, OK, 400_000, SENDER)
    env.paysys.fail_next("cancel", "drop")
    with pytest.raises(ProviderOutcomeUnknown):
        await env.client.cancel(prepared.transaction_id)
    assert len(env.paysys.calls("cancel")) == 1
    assert (await env.client.check_remittance(1)).status == PayoutStatus.CANCELLED


# ---- answers the emulator never gives -------------------------------------------------------------------------------


async def test_a_cancel_answered_with_anything_but_true_is_not_a_cancel():
    for result in (False, "true", 1, None):
        assert await faked({"error": None, "result": result}).cancel(1) is False


async def test_unreadable_answers_are_outcome_unknown():
    confirmed = {"transaction_id": 1, "status": 1, "date": NOW}
    cases = [
        {"error": None, "result": {**confirmed, "status": 7}},  # an undocumented status is never read as known
        {"error": None, "result": {**confirmed, "transaction_id": "1"}},
        {"error": None},  # no result
        {"id": "another", "error": None, "result": confirmed},
        {"error": {"code": "oops", "message": "x"}, "result": None},
        b"<html>maintenance</html>",
    ]
    for answer in cases:
        with pytest.raises(ProviderOutcomeUnknown):
            await faked(answer).confirm_remittance(1)
    assert (await faked({"error": None, "result": confirmed}).confirm_remittance(1)).status == PayoutStatus.COMPLETED


async def test_an_error_envelope_counts_whatever_the_status_and_a_bare_4xx_is_a_rejection():
    with pytest.raises(PaysysRejected) as caught:
        await faked({"error": {"code": -31001, "message": "x"}, "result": None}, status=400).confirm_remittance(1)
    assert caught.value.number == -31001
    with pytest.raises(ProviderRejected) as bare:
        await faked(b"Forbidden", status=403).confirm_remittance(1)
    assert bare.value.code == "http_403"


async def test_the_commission_is_read_as_an_exact_decimal():
    prepared = {"transaction_id": 1, "partner_transaction_id": 1, "masked_phone_number": "+99890*****50",
                "recipient_card": "860031******2112", "recipient_name": "TEST2 TEST2", "amount": 400000,
                "commission": 0.1, "total": 400400}
    answer = await faked({"error": None, "result": prepared}).prepare_remittance(1, OK, 400_000, SENDER)
    assert answer.commission == Decimal("0.1")  # a float would be 0.1000000000000000055…
    with pytest.raises(ProviderOutcomeUnknown):  # a fractional tiyin total is not money we can book
        await faked({"error": None, "result": {**prepared, "total": 400400.5}}).prepare_remittance(
            1, OK, 400_000, SENDER)


def test_a_tashkent_day_runs_from_midnight_to_23_59_59_at_utc_plus_5():
    start, end = tashkent_day(date(2024, 8, 1))
    assert datetime.fromtimestamp(start, UTC) == datetime(2024, 7, 31, 19, 0, tzinfo=UTC)
    assert end - start == 86_399
