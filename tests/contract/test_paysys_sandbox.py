"""The PaySys cash2card emulator against seed 004 and providers.md, over real HTTP with raw requests: the key sets
of the seed's examples, the envelope, the signed Auth header, the doc rule on both sides of the threshold, the
test cards' scenarios, the deposit, the rate limit and the faults. The emulator's clock is moved by hand."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest

from bot.sandbox.paysys import DEPOSIT, PaysysSandbox

# Key sets as seed 004's examples show them.
ENVELOPE = {"id", "error", "result"}
PREPARED = {"transaction_id", "partner_transaction_id", "masked_phone_number", "recipient_card", "recipient_name",
            "amount", "commission", "total"}
CONFIRMED = {"transaction_id", "status", "date"}
CHECKED = {"status", "transaction_id", "card_number", "amount"}
# The statement's example row, plus recipient_name from its field list.
ROW = {"status", "transaction_id", "partner_transaction_id", "recipient_card_number", "amount", "commission_amount",
       "date", "recipient_name"}
MASKED_CARD = r"^\d{6}\*{6}\d{4}$"

SEED_CARD = "8600530410609500"  # seed 004's example
OK, HUMO, SLOW, FAIL, REVERSE = ("8600310000000117", "9860310000000110", "8600310000000216", "8600310000000315",
                                 "8600310000000414")
BLOCKED, UNKNOWN = "8600310000000513", "8600310000000612"
SENDER = {"last_name": "Test", "first_name": "Test", "middle_name": ""}
DOC = {"nationality": "860", "type": "passport", "seriesNumber": "AA0000001", "birthDate": "25.01.1990",
       "validTo": "25.01.2025", "mrz": "30101800050014"}  # the seed's
NOW = 1_800_000_000  # 2027-01-15


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sandbox(clock: Clock):
    emulator = PaysysSandbox(clock=clock)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=httpx.Timeout(5, connect=1)) as client:
        yield client


def signature(secret: str, timestamp_ms: int) -> str:
    return hashlib.sha1(f"{secret}{timestamp_ms}".encode()).hexdigest()


class Rpc:
    """Raw JSON-RPC requests, signed like providers.md says unless `auth` is given."""

    def __init__(self, http: httpx.AsyncClient, sandbox: PaysysSandbox) -> None:
        self.http, self.sandbox = http, sandbox
        self.last_id = ""

    async def raw(self, method: str, params: object, auth: str | None = "sign") -> httpx.Response:
        self.last_id = str(uuid.uuid4())
        headers = {} if auth is None else {"Auth": self.sandbox.sign() if auth == "sign" else auth}
        return await self.http.post(self.sandbox.base_url, headers=headers,
                                    json={"method": method, "params": params, "id": self.last_id})

    async def __call__(self, method: str, params: object, auth: str | None = "sign"):
        answer = await self.raw(method, params, auth)
        body = answer.json()
        assert answer.status_code == 200 and set(body) == ENVELOPE, body
        assert body["id"] == self.last_id and body["error"] is None, body
        return body["result"]

    async def error(self, method: str, params: object, auth: str | None = "sign") -> dict:
        answer = await self.raw(method, params, auth)
        body = answer.json()
        assert answer.status_code == 200 and set(body) == ENVELOPE, body
        assert body["id"] == self.last_id and body["result"] is None
        error = body["error"]
        assert set(error) == {"code", "message"} and isinstance(error["code"], int) and error["code"] < 0
        assert error["message"]
        return error


@pytest.fixture
def rpc(http: httpx.AsyncClient, sandbox: PaysysSandbox) -> Rpc:
    return Rpc(http, sandbox)


async def prepare(rpc: Rpc, partner_id: int, card: str = OK, amount: int = 400_000, **extra: object) -> dict:
    params = {"partner_transaction_id": partner_id, "card_number": card, "amount": amount, "sender": SENDER, **extra}
    return await rpc("cash2card.prepare_remittance", params)


async def prepare_error(rpc: Rpc, partner_id: int, card: str = OK, amount: int = 400_000, **extra: object) -> int:
    params = {"partner_transaction_id": partner_id, "card_number": card, "amount": amount, "sender": SENDER, **extra}
    return (await rpc.error("cash2card.prepare_remittance", params))["code"]


async def confirm(rpc: Rpc, transaction_id: int) -> dict:
    return await rpc("cash2card.confirm_remittance", {"transaction_id": transaction_id})


async def check(rpc: Rpc, partner_id: int) -> dict:
    return await rpc("cash2card.check_remittance", {"partner_transaction_id": partner_id})


# ---- the seed's examples ---------------------------------------------------------------------------------------


async def test_the_seeds_payout_from_prepare_to_statement(rpc, sandbox, clock):
    prepared = await rpc("cash2card.prepare_remittance", {
        "partner_transaction_id": 10181, "card_number": SEED_CARD, "amount": 400000, "sender": SENDER})
    assert set(prepared) == PREPARED
    assert prepared["partner_transaction_id"] == 10181 and isinstance(prepared["transaction_id"], int)
    assert (prepared["amount"], prepared["commission"], prepared["total"]) == (400000, 0.5, 402000)
    assert prepared["masked_phone_number"] == "+99890*****50" and prepared["recipient_name"] == "TEST2 TEST2"
    assert prepared["recipient_card"] == "860053******9500"
    assert sandbox.deposit == DEPOSIT  # nothing debited before the confirm

    clock.advance(30)
    confirmed = await confirm(rpc, prepared["transaction_id"])
    assert set(confirmed) == CONFIRMED
    assert confirmed == {"transaction_id": prepared["transaction_id"], "status": 1, "date": NOW}  # creation date
    assert sandbox.deposit == DEPOSIT - 402000

    checked = await check(rpc, 10181)
    assert set(checked) == CHECKED
    assert checked == {"status": 1, "transaction_id": prepared["transaction_id"], "card_number": "860053******9500",
                       "amount": 400000}

    rows = await rpc("cash2card.statement", {"date_from": NOW - 3600, "date_to": NOW + 3600})
    assert len(rows) == 1 and set(rows[0]) == ROW
    assert rows[0] == {"status": 1, "transaction_id": prepared["transaction_id"], "partner_transaction_id": 10181,
                       "recipient_card_number": "860053******9500", "recipient_name": "TEST2 TEST2",
                       "amount": 400000, "commission_amount": 2000, "date": NOW}


async def test_the_commission_is_a_json_number_and_rounds_half_up(rpc, http, sandbox):
    answer = await rpc.raw("cash2card.prepare_remittance", {
        "partner_transaction_id": 1, "card_number": OK, "amount": 100_100, "sender": SENDER})
    assert b'"commission": 0.5' in answer.content
    assert answer.json()["result"]["total"] == 100_100 + 501  # 500.5 tiyin rounds half up


async def test_the_seeds_50_bcv_example_passes_with_its_doc(rpc, http, clock):
    """The seed's doc example (1 445 000 000 tiyin) sits at a threshold of its day: a setting, not code."""
    emulator = PaysysSandbox(clock=clock, doc_threshold=14_450_000)
    await emulator.start()
    try:
        prepared = await Rpc(http, emulator)("cash2card.prepare_remittance", {
            "partner_transaction_id": 10182, "card_number": SEED_CARD, "amount": 1445000000, "sender": SENDER,
            "doc": DOC})
        assert set(prepared) == PREPARED and prepared["total"] == 1445000000 + 7225000
    finally:
        await emulator.stop()


# ---- the rules of prepare ----------------------------------------------------------------------------------------


async def test_the_doc_rule_on_both_sides_of_the_threshold(rpc, sandbox):
    threshold = sandbox.doc_threshold * 100  # sums -> tiyin: 18 750 000 sum by default
    assert threshold == 1_875_000_000
    below, at = threshold - 100, threshold
    assert (await prepare(rpc, 1, amount=below))["amount"] == below
    assert await prepare_error(rpc, 2, amount=below, doc=DOC) == -20003  # below: the doc must not be sent
    assert await prepare_error(rpc, 3, amount=at) == -20002  # from the threshold up: required
    assert (await prepare(rpc, 4, amount=at, doc=DOC))["amount"] == at
    assert await prepare_error(rpc, 5, amount=at, doc={**DOC, "birthDate": "1990-01-25"}) == -32602
    assert await prepare_error(rpc, 6, amount=at, doc={**DOC, "type": "id_card"}) == -32602


async def test_the_minimum_is_100_000_tiyin(rpc):
    assert await prepare_error(rpc, 1, amount=99_999) == -20001
    assert (await prepare(rpc, 2, amount=100_000))["total"] == 100_500


async def test_a_partner_transaction_id_is_never_reusable(rpc, sandbox):
    first = await prepare(rpc, 77)
    assert await prepare_error(rpc, 77) == -20004
    assert await rpc("cash2card.cancel", {"transaction_id": first["transaction_id"]}) is True
    assert await prepare_error(rpc, 77, card=HUMO) == -20004  # not even after its payout was cancelled
    failed = await prepare(rpc, 78, card=FAIL)
    assert (await confirm(rpc, failed["transaction_id"]))["status"] == -1
    assert await prepare_error(rpc, 78) == -20004


@pytest.mark.parametrize("card, code", [
    (BLOCKED, -20012), (UNKNOWN, -20011),
    ("8600310000000118", -20010),  # Luhn-invalid
    ("4444445987459073", -20010),  # neither UzCard nor HUMO
    ("860031000000011", -20010),  # 15 digits
])
async def test_bad_cards_are_refused_at_prepare(rpc, sandbox, card, code):
    assert await prepare_error(rpc, 1, card=card) == code
    assert sandbox.calls("prepare_remittance")[-1].response["error"]["code"] == code
    assert await prepare_error(rpc, 1, card=card) == code  # nothing was created: the id is still free
    assert (await prepare(rpc, 1))["partner_transaction_id"] == 1


@pytest.mark.parametrize("params, field", [
    ({"card_number": OK, "amount": 400_000, "sender": SENDER}, "partner_transaction_id"),
    ({"partner_transaction_id": "10181", "card_number": OK, "amount": 400_000, "sender": SENDER},
     "partner_transaction_id"),
    ({"partner_transaction_id": 1, "card_number": OK, "amount": 400_000.0, "sender": SENDER}, "amount"),
    ({"partner_transaction_id": 1, "card_number": OK, "amount": "400000", "sender": SENDER}, "amount"),
    ({"partner_transaction_id": 1, "card_number": 8600310000000117, "amount": 400_000, "sender": SENDER},
     "card_number"),
    ({"partner_transaction_id": 1, "card_number": OK, "amount": 400_000}, "sender"),
    ({"partner_transaction_id": 1, "card_number": OK, "amount": 400_000, "sender": {"last_name": "Test"}},
     "sender.first_name"),
])
async def test_malformed_params_are_invalid_params(rpc, params, field):
    error = await rpc.error("cash2card.prepare_remittance", params)
    assert error["code"] == -32602 and field in error["message"]


# ---- the test cards over their lives ---------------------------------------------------------------------------------


async def test_a_humo_card_completes(rpc, sandbox):
    prepared = await prepare(rpc, 1, card=HUMO)
    assert prepared["recipient_card"] == "986031******0110"
    assert (await confirm(rpc, prepared["transaction_id"]))["status"] == 1


async def test_the_slow_card_completes_on_the_clock(rpc, sandbox, clock):
    prepared = await prepare(rpc, 1, card=SLOW)
    assert (await confirm(rpc, prepared["transaction_id"]))["status"] == 0
    assert sandbox.deposit == DEPOSIT - 402_000  # debited at confirm, in progress
    assert (await check(rpc, 1))["status"] == 0
    clock.advance(59)
    assert (await check(rpc, 1))["status"] == 0
    clock.advance(1)
    assert (await check(rpc, 1))["status"] == 1
    assert sandbox.deposit == DEPOSIT - 402_000


async def test_the_slow_card_completes_at_settle(rpc, sandbox):
    prepared = await prepare(rpc, 1, card=SLOW)
    await confirm(rpc, prepared["transaction_id"])
    sandbox.settle()
    assert (await check(rpc, 1))["status"] == 1


async def test_the_failing_card_debits_nothing(rpc, sandbox):
    prepared = await prepare(rpc, 1, card=FAIL)
    assert (await confirm(rpc, prepared["transaction_id"]))["status"] == -1
    assert (await check(rpc, 1))["status"] == -1
    assert sandbox.deposit == DEPOSIT
    error = await rpc.error("cash2card.cancel", {"transaction_id": prepared["transaction_id"]})
    assert error["code"] == -20031


async def test_the_reversing_card_completes_then_is_reversed_and_refunded(rpc, sandbox, clock):
    prepared = await prepare(rpc, 1, card=REVERSE)
    assert (await confirm(rpc, prepared["transaction_id"]))["status"] == 1
    assert (await check(rpc, 1))["status"] == 1 and sandbox.deposit == DEPOSIT - 402_000
    clock.advance(3600)
    assert (await check(rpc, 1))["status"] == 3
    assert sandbox.deposit == DEPOSIT
    rows = await rpc("cash2card.statement", {"date_from": NOW, "date_to": NOW})
    assert [row["status"] for row in rows] == [3]


async def test_the_reversing_card_is_reversed_at_settle(rpc, sandbox):
    prepared = await prepare(rpc, 1, card=REVERSE)
    await confirm(rpc, prepared["transaction_id"])
    sandbox.settle()
    assert (await check(rpc, 1))["status"] == 3 and sandbox.deposit == DEPOSIT


# ---- confirm, cancel, check --------------------------------------------------------------------------------------


async def test_confirm_is_not_repeatable_and_needs_a_known_payout(rpc, sandbox):
    prepared = await prepare(rpc, 1)
    await confirm(rpc, prepared["transaction_id"])
    error = await rpc.error("cash2card.confirm_remittance", {"transaction_id": prepared["transaction_id"]})
    assert error["code"] == -20031
    assert sandbox.deposit == DEPOSIT - 402_000  # debited once
    assert (await rpc.error("cash2card.confirm_remittance", {"transaction_id": 1}))["code"] == -20030
    assert (await rpc.error("cash2card.check_remittance", {"partner_transaction_id": 999}))["code"] == -20030
    assert (await rpc.error("cash2card.cancel", {"transaction_id": 1}))["code"] == -20030


async def test_cancel_only_a_prepared_unconfirmed_payout(rpc, sandbox):
    prepared = await prepare(rpc, 1)
    assert await rpc("cash2card.cancel", {"transaction_id": prepared["transaction_id"]}) is True
    assert (await check(rpc, 1))["status"] == 2
    assert (await rpc.error("cash2card.cancel", {"transaction_id": prepared["transaction_id"]}))["code"] == -20031
    assert (await rpc.error("cash2card.confirm_remittance",
                            {"transaction_id": prepared["transaction_id"]}))["code"] == -20031
    confirmed = await prepare(rpc, 2)
    await confirm(rpc, confirmed["transaction_id"])
    assert (await rpc.error("cash2card.cancel", {"transaction_id": confirmed["transaction_id"]}))["code"] == -20031
    slow = await prepare(rpc, 3, card=SLOW)
    await confirm(rpc, slow["transaction_id"])  # status 0, but confirmed: no longer cancellable
    assert (await rpc.error("cash2card.cancel", {"transaction_id": slow["transaction_id"]}))["code"] == -20031
    assert sandbox.deposit == DEPOSIT - 2 * 402_000


async def test_the_deposit_runs_out(rpc, sandbox):
    sandbox.deposit = 402_000
    assert await prepare_error(rpc, 1, amount=400_001) == -20020  # total 402 001
    first, second = await prepare(rpc, 2), await prepare(rpc, 3)
    await confirm(rpc, first["transaction_id"])
    error = await rpc.error("cash2card.confirm_remittance", {"transaction_id": second["transaction_id"]})
    assert error["code"] == -20020
    assert sandbox.deposit == 0 and (await check(rpc, 3))["status"] == 0  # still prepared: cancellable
    assert await rpc("cash2card.cancel", {"transaction_id": second["transaction_id"]}) is True


# ---- statement -----------------------------------------------------------------------------------------------------


async def test_statement_lists_payouts_by_creation_date_both_ends_included(rpc, clock):
    first = await prepare(rpc, 1)
    clock.advance(100)
    second = await prepare(rpc, 2, card=FAIL)
    clock.advance(100)
    await confirm(rpc, first["transaction_id"])  # confirmed later: still listed by creation
    await confirm(rpc, second["transaction_id"])
    await prepare(rpc, 3)  # created at NOW + 200
    rows = await rpc("cash2card.statement", {"date_from": NOW, "date_to": NOW + 100})
    assert [(r["partner_transaction_id"], r["status"], r["date"]) for r in rows] == [(1, 1, NOW), (2, -1, NOW + 100)]
    assert all(set(row) == ROW for row in rows)
    assert [r["partner_transaction_id"] for r in await rpc("cash2card.statement",
                                                           {"date_from": NOW + 1, "date_to": NOW + 200})] == [2, 3]
    assert await rpc("cash2card.statement", {"date_from": NOW + 201, "date_to": NOW + 9999}) == []
    error = await rpc.error("cash2card.statement", {"date_from": NOW + 1, "date_to": NOW})
    assert error["code"] == -32602
    assert (await rpc.error("cash2card.statement", {"date_from": "2027-01-15", "date_to": NOW}))["code"] == -32602


# ---- Auth ---------------------------------------------------------------------------------------------------------


async def test_the_worked_example_header_is_well_formed_but_not_ours(rpc, sandbox):
    header = "05e3bab097f42yu0a62ced0b-b4c60339801620875cb8e4bb1eb15a7fbbcfd3ba-1399114284039"
    assert (await rpc.error("cash2card.check_remittance", {"partner_transaction_id": 1}, header))["code"] == -32504
    assert sandbox.ledger[-1].auth == "wrong_service"


async def test_auth_is_checked_and_nothing_happens_without_it(rpc, sandbox, clock):
    now_ms = int(clock() * 1000)
    service, secret = sandbox.service_id, sandbox.secret_key
    cases = {
        "missing": None,
        "malformed": f"{service}-{now_ms}",
        "wrong_service": f"other-{signature(secret, now_ms)}-{now_ms}",
        "bad_hash": f"{service}-{signature('wrong', now_ms)}-{now_ms}",
        "seconds": f"{service}-{signature(secret, now_ms // 1000)}-{now_ms // 1000}",
        "stale": f"{service}-{signature(secret, now_ms - 301_000)}-{now_ms - 301_000}",
        "future": f"{service}-{signature(secret, now_ms + 301_000)}-{now_ms + 301_000}",
        "upper-case hex": f"{service}-{signature(secret, now_ms).upper()}-{now_ms}",
    }
    kinds = {"future": "stale", "upper-case hex": "malformed"}
    params = {"partner_transaction_id": 1, "card_number": OK, "amount": 400_000, "sender": SENDER}
    for name, header in cases.items():
        error = await rpc.error("cash2card.prepare_remittance", params, auth=header)
        assert error["code"] == -32504, name
        assert sandbox.ledger[-1].auth == kinds.get(name, name)
    assert (await rpc.error("cash2card.check_remittance", {"partner_transaction_id": 1}))["code"] == -20030
    for off in (-299_000, 299_000):  # inside the 5-minute window
        stamp = now_ms + off
        await rpc("cash2card.statement", {"date_from": 0, "date_to": 1}, auth=sandbox.sign(stamp))
        assert sandbox.ledger[-1].auth == "ok"


# ---- the envelope ------------------------------------------------------------------------------------------------


async def test_envelope_errors(rpc, http, sandbox):
    answer = await http.get(sandbox.base_url, headers={"Auth": sandbox.sign()})
    assert answer.status_code == 200 and answer.json()["error"]["code"] == -32300
    answer = await http.post(sandbox.base_url, content=b"{not json", headers={"Auth": sandbox.sign()})
    assert answer.json() == {"id": None, "error": {"code": -32700, "message": "Parse error"}, "result": None}
    answer = await http.post(sandbox.base_url, json={"params": {}, "id": "1"}, headers={"Auth": sandbox.sign()})
    assert answer.json()["error"]["code"] == -32600 and answer.json()["id"] == "1"
    assert (await rpc.error("cash2card.refund", {}))["code"] == -32601
    assert (await rpc.error("cash2card.check_remittance", [10181]))["code"] == -32602
    assert [entry.method for entry in sandbox.ledger[:3]] == ["", "", ""]


# ---- rate limit ------------------------------------------------------------------------------------------------------


async def test_over_the_limit_is_429_with_retry_after_in_seconds(http, clock):
    emulator = PaysysSandbox(clock=clock, rate_limit=3, rate_window=60)
    await emulator.start()
    try:
        rpc = Rpc(http, emulator)
        for second in range(3):
            await rpc("cash2card.statement", {"date_from": 0, "date_to": 1})
            clock.advance(10)
        answer = await rpc.raw("cash2card.statement", {"date_from": 0, "date_to": 1})
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "30"  # the first leaves at +60
        assert answer.json() == {"id": rpc.last_id, "error": {"code": -20029, "message": "Too many requests"},
                                 "result": None}
        assert emulator.ledger[-1].fault == "rate_limit" and emulator.ledger[-1].status == 429
        clock.advance(29)
        assert (await rpc.raw("cash2card.statement", {"date_from": 0, "date_to": 1})).headers["Retry-After"] == "1"
        clock.advance(1)
        await rpc("cash2card.statement", {"date_from": 0, "date_to": 1})
    finally:
        await emulator.stop()


async def test_the_limit_can_answer_retry_after_as_an_http_date(http, clock):
    emulator = PaysysSandbox(clock=clock, rate_limit=1, rate_window=60, retry_after_form="date")
    await emulator.start()
    try:
        rpc = Rpc(http, emulator)
        await rpc("cash2card.statement", {"date_from": 0, "date_to": 1})
        answer = await rpc.raw("cash2card.statement", {"date_from": 0, "date_to": 1})
        assert answer.status_code == 429
        assert parsedate_to_datetime(answer.headers["Retry-After"]) == datetime.fromtimestamp(NOW + 60, UTC)
    finally:
        await emulator.stop()


async def test_the_default_limit_is_100_a_minute(rpc, sandbox):
    for _ in range(100):
        await rpc("cash2card.statement", {"date_from": 0, "date_to": 1})
    assert (await rpc.raw("cash2card.statement", {"date_from": 0, "date_to": 1})).status_code == 429


# ---- faults ---------------------------------------------------------------------------------------------------------


async def test_a_dropped_confirm_answer_still_made_the_payout(rpc, sandbox):
    prepared = await prepare(rpc, 1)
    sandbox.fail_next("confirm_remittance", "drop")
    with pytest.raises(httpx.TransportError):
        await rpc.raw("cash2card.confirm_remittance", {"transaction_id": prepared["transaction_id"]})
    [entry] = sandbox.calls("cash2card.confirm_remittance")
    assert (entry.status, entry.fault) == (0, "drop")
    assert (await check(rpc, 1))["status"] == 1 and sandbox.deposit == DEPOSIT - 402_000


async def test_ordered_429_error_500_and_garbage(rpc, sandbox):
    prepared = await prepare(rpc, 1)
    when = datetime.fromtimestamp(NOW + 7, UTC)
    sandbox.fail_next("cash2card.confirm_remittance", "429", retry_after=when)
    answer = await rpc.raw("cash2card.confirm_remittance", {"transaction_id": prepared["transaction_id"]})
    assert answer.status_code == 429 and parsedate_to_datetime(answer.headers["Retry-After"]) == when
    assert answer.json()["error"]["code"] == -20029
    sandbox.fail_next("confirm_remittance", "error", code=-12345)  # no list is published: any negative code
    assert (await rpc.error("cash2card.confirm_remittance",
                            {"transaction_id": prepared["transaction_id"]}))["code"] == -12345
    sandbox.fail_next("confirm_remittance", "error", code="insufficient_funds")
    assert (await rpc.error("cash2card.confirm_remittance",
                            {"transaction_id": prepared["transaction_id"]}))["code"] == -20020
    assert sandbox.deposit == DEPOSIT and (await check(rpc, 1))["status"] == 0  # none of those did the work
    sandbox.fail_next("confirm_remittance", "500", apply=False)
    answer = await rpc.raw("cash2card.confirm_remittance", {"transaction_id": prepared["transaction_id"]})
    assert answer.status_code == 500 and answer.headers["Content-Type"].startswith("text/html")
    sandbox.fail_next("confirm_remittance", "garbage")
    answer = await rpc.raw("cash2card.confirm_remittance", {"transaction_id": prepared["transaction_id"]})
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()
    assert (await check(rpc, 1))["status"] == 1  # the garbage one did
    with pytest.raises(ValueError):
        sandbox.fail_next("confirm_remittance", "error", code=5)


async def test_a_hold_parks_a_confirm_until_released(rpc, sandbox):
    prepared = await prepare(rpc, 1)
    hold = sandbox.hold_next("confirm_remittance", apply=True)
    pending = asyncio.create_task(confirm(rpc, prepared["transaction_id"]))
    await hold.reached()
    assert sandbox.payout(1)["status"] == 1 and sandbox.calls("confirm_remittance")[0].status == 0
    hold.release()
    assert (await pending)["status"] == 1
    assert sandbox.calls("confirm_remittance")[0].status == 200


# ---- sandbox mode ---------------------------------------------------------------------------------------------------


async def test_sandbox_mode_starts_the_emulator_and_wires_the_client(tmp_path, monkeypatch):
    from bot.app import open_services
    from bot.providers.paysys import Sender
    from bot.settings import Settings, load_settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    settings = load_settings(BOT_TOKEN="1:x", PROVIDERS="sandbox",
                             DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    async with open_services(settings) as services:
        emulator = services.sandboxes["paysys"]
        assert isinstance(emulator, PaysysSandbox) and services.paysys is not None
        assert services.settings.paysys_configured and services.settings.PAYSYS_SENDER_FIRST_NAME
        assert emulator.doc_threshold == settings.PAYSYS_DOC_THRESHOLD
        sender = Sender(last_name=services.settings.PAYSYS_SENDER_LAST_NAME,
                        first_name=services.settings.PAYSYS_SENDER_FIRST_NAME)
        prepared = await services.paysys.prepare_remittance(1, OK, 400_000, sender)
        assert prepared.total == 402_000 and emulator.calls("prepare_remittance")[0].auth == "ok"
