"""PaySys cash2card sandbox: a real JSON-RPC server on 127.0.0.1 speaking seed 004 and providers.md — `POST /gateway`,
the signed `Auth` header, the five methods, the statuses, a deposit, test cards and the 100-a-minute rate limit — so
the client is tested against the wire, not against a mock of itself.

Like the other emulators, tests read the ledger of every request and inject the failures a real gateway has, queued
per method (`bot/sandbox/server.py` applies them the same way everywhere): `fail_next(method, mode, ...)` and
`hold_next(method, apply=...)`, a method named in full ("cash2card.confirm_remittance") or short
("confirm_remittance"). Slow completions and reversals happen on the emulator's clock (`clock`, injectable) or at
once with `settle()`: no test sleeps. PAYSYS_SANDBOX.md lists the test cards and the controls.

Where the seed is silent (every error code and message, the HTTP status of an error, the body of a 429, which step
a bad card fails at, whether confirm may be repeated) the choice is marked "guess", in one place below.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from email.utils import format_datetime
from typing import Any, Literal

from aiohttp import web

from bot.sandbox.card_rules import luhn, mask_digits, mask_pan
from bot.sandbox.faults import Fault, Hold, Mode
from bot.sandbox.server import EmulatorServer

PATH = "/gateway"  # seed 004: https://paysys.uz/gateway
PREFIX = "cash2card."
METHODS = ("prepare_remittance", "confirm_remittance", "check_remittance", "cancel", "statement")
MIN_AMOUNT = 100_000  # tiyin (seed 004)
DOC_THRESHOLD_SUMS = 18_750_000  # 50 base calculation values of 375 000 sum (since 2024-08-01): PAYSYS_DOC_THRESHOLD
COMMISSION = Decimal("0.5")  # percent: the seed's 400 000 -> 402 000
DEPOSIT = 5_000_000_000  # tiyin: 50 000 000 sum, room for a payout above the doc threshold
FIRST_TRANSACTION_ID = 2354812  # the seed's
AUTH_WINDOW = 300.0  # seconds an Auth timestamp may be off the provider's clock (guess: 5 minutes)
RATE_LIMIT, RATE_WINDOW = 100, 60.0  # requests per window (seconds): providers.md
SLOW_SECONDS = 60.0  # the slow card completes this long after its confirm (or at settle())
REVERSE_SECONDS = 3600.0  # the reversing card is reversed this long after it completed (or at settle())
SUPPORTED_PREFIXES = ("8600", "9860")  # UzCard, HUMO

# Test cards: number -> (scenario, recipient name, phone). "ok": completes at confirm; "slow": 0 at confirm, 1 later;
# "fail": -1 at confirm, nothing debited; "reverse": 1 at confirm, 3 later (the deposit refunded); "blocked" and
# "unknown": refused at prepare (guess: the seed does not say which call finds a bad card).
TEST_CARDS: dict[str, tuple[str, str, str]] = {
    "8600530410609500": ("ok", "TEST2 TEST2", "+998901234550"),  # the seed's own example card
    "8600310000000117": ("ok", "ALIYEV VALI", "+998901110017"),
    "9860310000000110": ("ok", "KARIMOVA NODIRA", "+998911110010"),
    "8600310000000216": ("slow", "TOSHMATOV ALI", "+998901110016"),
    "8600310000000315": ("fail", "RAHIMOV BOBUR", "+998901110015"),
    "8600310000000414": ("reverse", "YUSUPOV SHERZOD", "+998901110014"),
    "8600310000000513": ("blocked", "", ""),
    "8600310000000612": ("unknown", "", ""),
}
OTHER_CARD = ("ok", "SANDBOX RECIPIENT", "+998900000000")  # any other Luhn-valid 8600/9860 number

# name -> (code, message). guess: PaySys publishes no code list; the JSON-RPC ones are the protocol's, the rest are
# numbered here. Every error is answered with HTTP 200 and `{"id", "error": {"code", "message"}, "result": null}`.
ERRORS: dict[str, tuple[int, str]] = {
    "not_post": (-32300, "Request method must be POST"),
    "parse": (-32700, "Parse error"),
    "bad_request": (-32600, "Invalid request"),
    "unknown_method": (-32601, "Method not found"),
    "bad_params": (-32602, "Invalid params"),
    "auth": (-32504, "Access denied"),
    "system": (-32400, "System error"),
    "amount_too_small": (-20001, "The amount is less than the minimum of 100 000 tiyin"),
    "doc_required": (-20002, "Passport data (doc) is required for this amount"),
    "doc_not_allowed": (-20003, "Passport data (doc) must not be sent for this amount"),
    "duplicate": (-20004, "partner_transaction_id has already been used"),
    "card_invalid": (-20010, "Invalid card number"),
    "card_not_found": (-20011, "Card not found"),
    "card_blocked": (-20012, "Card is blocked"),
    "insufficient_funds": (-20020, "Insufficient funds on the deposit"),
    "not_found": (-20030, "Transaction not found"),
    "wrong_state": (-20031, "The operation is not allowed in the payout's current status"),
    "too_many_requests": (-20029, "Too many requests"),  # the body of a 429
}

_DATE = re.compile(r"(0[1-9]|[12]\d|3[01])\.(0[1-9]|1[0-2])\.\d{4}")


@dataclass(frozen=True)
class LedgerEntry:
    """One request as the sandbox received it. `method` is the full JSON-RPC method ("" when the body had none);
    `auth` classifies the Auth header: "ok", "missing", "malformed", "wrong_service", "bad_hash", "seconds" (a
    timestamp in seconds, not milliseconds) or "stale". `status` is the HTTP status the client got, 0 when a fault
    withheld the answer (or a hold still parks it); `fault` names the fault ("drop", "429", ...) or "rate_limit",
    None for a plain answer. `response` is the JSON sent, the text of a "garbage" answer, or None."""

    method: str
    http_method: str
    auth: str
    body: Any
    status: int
    response: Any
    fault: str | None = None

    @property
    def params(self) -> Any:
        return self.body.get("params") if isinstance(self.body, dict) else None

    def __repr__(self) -> str:
        # Bodies hold card numbers: keep them out of assertion messages and logs.
        text = (f"LedgerEntry(method={self.method!r}, http_method={self.http_method!r}, auth={self.auth!r}, "
                f"body={self.body!r}, status={self.status!r}, response={self.response!r}, fault={self.fault!r})")
        return mask_digits(text)


@dataclass
class _Payout:
    transaction_id: int
    partner_transaction_id: int
    card: str
    scenario: str
    recipient_name: str
    phone: str
    amount: int  # tiyin
    total: int  # tiyin
    created: int  # Unix seconds
    status: int = 0
    confirmed: bool = False
    debited: bool = False
    due: float | None = None  # clock moment of the next change (slow: 0 -> 1; reverse: 1 -> 3)


class _Reject(Exception):
    def __init__(self, name: str, detail: str | None = None) -> None:
        super().__init__(name)
        self.name, self.detail = name, detail

    def payload(self) -> dict:
        code, message = ERRORS[self.name]
        return {"code": code, "message": f"{message}: {self.detail}" if self.detail else message}


class PaysysSandbox(EmulatorServer):
    SERVER_ERROR_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"

    def __init__(self, *, service_id: str = "sandbox-service", secret_key: str = "sandbox-secret",
                 clock: Callable[[], float] = time.time, doc_threshold: int = DOC_THRESHOLD_SUMS,
                 deposit: int = DEPOSIT, commission: Decimal = COMMISSION, rate_limit: int = RATE_LIMIT,
                 rate_window: float = RATE_WINDOW, retry_after_form: Literal["seconds", "date"] = "seconds",
                 auth_window: float = AUTH_WINDOW, slow_seconds: float = SLOW_SECONDS,
                 reverse_seconds: float = REVERSE_SECONDS) -> None:
        super().__init__()
        if isinstance(commission, float):
            raise TypeError("commission is a Decimal percent, not a float")
        self.service_id, self.secret_key = service_id, secret_key
        self.doc_threshold = doc_threshold  # sums, as PAYSYS_DOC_THRESHOLD
        self.deposit = deposit  # tiyin; tests may set it
        self.commission = Decimal(commission)
        self.rate_limit, self.rate_window, self.retry_after_form = rate_limit, rate_window, retry_after_form
        self.auth_window, self.slow_seconds, self.reverse_seconds = auth_window, slow_seconds, reverse_seconds
        self.ledger: list[LedgerEntry]
        self._clock = clock
        self._payouts: dict[int, _Payout] = {}  # by transaction_id
        self._by_partner: dict[int, _Payout] = {}
        self._next_id = FIRST_TRANSACTION_ID
        self._accepted: deque[float] = deque()  # clock moments of the requests inside the rate window
        self._methods: dict[str, Callable[[dict], Awaitable[Any]]] = {
            PREFIX + "prepare_remittance": self._prepare, PREFIX + "confirm_remittance": self._confirm,
            PREFIX + "check_remittance": self._check, PREFIX + "cancel": self._cancel,
            PREFIX + "statement": self._statement,
        }

    # ---- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve and return the gateway URL, `http://127.0.0.1:PORT/gateway`."""
        app = web.Application()
        for path in (PATH, PATH + "/"):
            app.router.add_route("*", path, self._endpoint)
        return await self._listen(app, host, port, PATH)

    # ---- test controls ---------------------------------------------------------------------------------------------

    def calls(self, method: str) -> list[LedgerEntry]:
        method = _full(method)
        return [entry for entry in self.ledger if entry.method == method]

    def fail_next(self, key: str, mode: Mode, *, apply: bool | None = None, code: str | int | None = None,
                  retry_after: int | str | datetime = 1) -> None:
        super().fail_next(_full(key), mode, apply=apply, code=code, retry_after=retry_after)

    def hold_next(self, key: str, *, apply: bool = False) -> Hold:
        return super().hold_next(_full(key), apply=apply)

    def settle(self) -> None:
        """Every pending change happens now: slow payouts complete, reversing ones are reversed (and refunded)."""
        self._advance(force=True)

    def payout(self, partner_transaction_id: int) -> dict:
        """The payout as the provider holds it (card masked), without counting as a call."""
        self._advance()
        p = self._by_partner[partner_transaction_id]
        return {"transaction_id": p.transaction_id, "partner_transaction_id": p.partner_transaction_id,
                "status": p.status, "confirmed": p.confirmed, "debited": p.debited, "amount": p.amount,
                "total": p.total, "date": p.created, "card": mask_pan(p.card)}

    def dump(self) -> dict:
        """Payouts (card numbers masked), the next id and the deposit as JSON, for load() in a later run."""
        return {"payouts": [{**asdict(p), "card": mask_pan(p.card)} for p in self._payouts.values()],
                "next_id": self._next_id, "deposit": self.deposit}

    def load(self, state: dict) -> None:
        """What dump() gave: an earlier payout is still checked, a new one gets a fresh id."""
        for row in state.get("payouts", []):
            payout = _Payout(**row)
            self._payouts[payout.transaction_id] = self._by_partner[payout.partner_transaction_id] = payout
        self._next_id = max(self._next_id, state.get("next_id", self._next_id))
        self.deposit = state.get("deposit", self.deposit)

    def sign(self, timestamp_ms: int | None = None) -> str:
        """A valid Auth header on the emulator's clock, for raw requests in tests."""
        ts = int(self._clock() * 1000) if timestamp_ms is None else timestamp_ms
        return f"{self.service_id}-{_sha1(self.secret_key, ts)}-{ts}"

    # ---- plumbing --------------------------------------------------------------------------------------------------

    async def _endpoint(self, request: web.Request) -> web.StreamResponse:
        auth = self._auth_kind(request.headers.get("Auth"))
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        method = body.get("method") if isinstance(body, dict) else None
        method = method if isinstance(method, str) else ""
        throttled = self._throttle()
        if throttled is not None:
            return await self._limited(request, auth, body if body is not None else raw.decode("utf-8", "replace"),
                                       method, throttled)
        if request.method != "POST":
            return await self._early(request, auth, None, _Reject("not_post"))
        if body is None:
            return await self._early(request, auth, raw.decode("utf-8", "replace"), _Reject("parse"))
        fault = self._pop_fault(lambda f: f.key == method)

        async def work() -> tuple[int, Any]:
            return 200, await self._dispatch(request, body, method)

        def entry(status: int, response: Any, mode: str | None) -> LedgerEntry:
            return LedgerEntry(method, request.method, auth, body, status, response, mode)

        return await self._respond(request, fault, work, entry, body)

    async def _early(self, request: web.Request, auth: str, body: Any, reject: _Reject) -> web.Response:
        """Refused before the method is known: recorded under method "", faults do not apply."""
        payload = {"id": None, "error": reject.payload(), "result": None}
        await self._append(LedgerEntry("", request.method, auth, body, 200, payload))
        return _json(payload)

    async def _limited(self, request: web.Request, auth: str, body: Any, method: str, delay: int) -> web.Response:
        rpc_id = body.get("id") if isinstance(body, dict) else None
        payload = {"id": rpc_id, "error": _Reject("too_many_requests").payload(), "result": None}
        await self._append(LedgerEntry(method, request.method, auth, body, 429, payload, "rate_limit"))
        if self.retry_after_form == "date":
            retry_after = format_datetime(datetime.fromtimestamp(math.ceil(self._clock()) + delay, UTC), usegmt=True)
        else:
            retry_after = str(delay)
        return _json(payload, 429, {"Retry-After": retry_after})

    def _throttle(self) -> int | None:
        """None: the request is inside the limit (and counted). Else the whole seconds until a slot frees."""
        now = self._clock()
        while self._accepted and self._accepted[0] <= now - self.rate_window:
            self._accepted.popleft()
        if len(self._accepted) >= self.rate_limit:
            return max(1, math.ceil(self._accepted[0] + self.rate_window - now))
        self._accepted.append(now)
        return None

    async def _dispatch(self, request: web.Request, body: Any, method: str) -> dict:
        rpc_id = body.get("id") if isinstance(body, dict) else None
        try:
            if not isinstance(body, dict) or not method:
                raise _Reject("bad_request", "method")
            auth = self._auth_kind(request.headers.get("Auth"))
            if auth != "ok":
                raise _Reject("auth", _AUTH_DETAILS[auth])
            handler = self._methods.get(method)
            if handler is None:
                raise _Reject("unknown_method")
            params = body.get("params")
            if not isinstance(params, dict):
                raise _Reject("bad_params", "params")
            self._advance()
            result = await handler(params)
        except _Reject as reject:
            return {"id": rpc_id, "error": reject.payload(), "result": None}
        return {"id": rpc_id, "error": None, "result": result}

    def _auth_kind(self, header: str | None) -> str:
        """`{service_id}-{sha1_hex(secret_key + timestamp_ms)}-{timestamp_ms}` (providers.md)."""
        if not header:
            return "missing"
        parts = header.rsplit("-", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{40}", parts[1]) or not parts[2].isdigit():
            return "malformed"
        service_id, digest, stamp = parts
        if service_id != self.service_id:
            return "wrong_service"
        ts = int(stamp)
        if not hmac.compare_digest(digest, _sha1(self.secret_key, ts)):
            return "bad_hash"
        if ts < 10**11:  # a Unix time in seconds (milliseconds passed 10**11 in 1973)
            return "seconds"
        if abs(ts - self._clock() * 1000) > self.auth_window * 1000:
            return "stale"
        return "ok"

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> web.StreamResponse:
        return _json(payload, status, headers)

    def _fault_answer(self, fault: Fault, request: web.Request, body: Any) -> tuple[int, Any]:
        """"error": HTTP 200 with the envelope of `code`; "429": HTTP 429 with the too-many-requests envelope."""
        rpc_id = body.get("id") if isinstance(body, dict) else None
        if fault.code is None:
            error = _Reject("too_many_requests").payload()
        elif isinstance(fault.code, int):
            name = next((n for n, (number, _) in ERRORS.items() if number == fault.code), None)
            error = _Reject(name).payload() if name else {"code": fault.code, "message": "Sandbox error"}
        else:
            error = _Reject(fault.code).payload()
        return (429 if fault.mode == "429" else 200), {"id": rpc_id, "error": error, "result": None}

    def _check_code(self, code: str | int) -> None:
        """A name of ERRORS, or any negative int: PaySys publishes no list, so a test may order an unknown code."""
        if isinstance(code, str) and code in ERRORS:
            return
        if isinstance(code, int) and not isinstance(code, bool) and code < 0:
            return
        raise ValueError(f"PaySys error codes are negative ints or names of bot.sandbox.paysys.ERRORS, not {code!r}")

    def _now(self) -> int:
        return int(self._clock())

    def _advance(self, *, force: bool = False) -> None:
        now = self._clock()
        for p in self._payouts.values():
            if p.due is None or (not force and now < p.due):
                continue
            p.due = None
            if p.scenario == "slow" and p.status == 0:
                p.status = 1
            elif p.scenario == "reverse" and p.status == 1:
                p.status = 3
                if p.debited:  # the money came back: the deposit is credited with what it was debited
                    self.deposit += p.total
                    p.debited = False

    def _find(self, params: dict, name: str, index: dict[int, _Payout]) -> _Payout:
        payout = index.get(_int(params, name))
        if payout is None:
            raise _Reject("not_found")
        return payout

    # ---- the five methods ----------------------------------------------------------------------------------------

    async def _prepare(self, params: dict) -> dict:
        partner_id = _int(params, "partner_transaction_id")
        card, amount = params.get("card_number"), _int(params, "amount")
        if partner_id <= 0:
            raise _Reject("bad_params", "partner_transaction_id")
        if not isinstance(card, str) or not card.isdigit():
            raise _Reject("bad_params", "card_number")
        _sender(params.get("sender"))
        if partner_id in self._by_partner:
            raise _Reject("duplicate")  # never reusable, whatever became of the first payout
        if amount < MIN_AMOUNT:
            raise _Reject("amount_too_small")
        if amount >= self.doc_threshold * 100:
            if "doc" not in params:
                raise _Reject("doc_required")
            _doc(params["doc"])
        elif "doc" in params:
            raise _Reject("doc_not_allowed")  # seed 004: "otherwise you cannot send the parameter"
        if len(card) != 16 or not card.startswith(SUPPORTED_PREFIXES) or not luhn(card):
            raise _Reject("card_invalid")
        scenario, name, phone = TEST_CARDS.get(card, OTHER_CARD)
        if scenario == "blocked":
            raise _Reject("card_blocked")
        if scenario == "unknown":
            raise _Reject("card_not_found")
        commission = (Decimal(amount) * self.commission / 100).quantize(Decimal(1), ROUND_HALF_UP)
        total = amount + int(commission)
        if total > self.deposit:
            raise _Reject("insufficient_funds")
        payout = _Payout(self._next_id, partner_id, card, scenario, name, phone, amount, total, self._now())
        self._next_id += 1
        self._payouts[payout.transaction_id] = self._by_partner[partner_id] = payout
        return {"transaction_id": payout.transaction_id, "partner_transaction_id": partner_id,
                "masked_phone_number": _mask_phone(phone), "recipient_card": mask_pan(card), "recipient_name": name,
                "amount": amount, "commission": self.commission, "total": total}

    async def _confirm(self, params: dict) -> dict:
        """guess: a second confirm is refused (wrong_state), so after a lost answer check_remittance decides."""
        payout = self._find(params, "transaction_id", self._payouts)
        if payout.confirmed or payout.status != 0:
            raise _Reject("wrong_state")
        if payout.scenario != "fail":
            if payout.total > self.deposit:
                raise _Reject("insufficient_funds")  # nothing changes: the payout stays prepared (cancellable)
            self.deposit -= payout.total
            payout.debited = True
        payout.confirmed = True
        if payout.scenario == "fail":
            payout.status = -1  # nothing debited
        elif payout.scenario == "slow":
            payout.due = self._clock() + self.slow_seconds
        else:
            payout.status = 1
            if payout.scenario == "reverse":
                payout.due = self._clock() + self.reverse_seconds
        return {"transaction_id": payout.transaction_id, "status": payout.status, "date": payout.created}

    async def _check(self, params: dict) -> dict:
        payout = self._find(params, "partner_transaction_id", self._by_partner)
        return {"status": payout.status, "transaction_id": payout.transaction_id,
                "card_number": mask_pan(payout.card), "amount": payout.amount}

    async def _cancel(self, params: dict) -> bool:
        """Only a prepared, unconfirmed payout: nothing was debited, so nothing is credited."""
        payout = self._find(params, "transaction_id", self._payouts)
        if payout.confirmed or payout.status != 0:
            raise _Reject("wrong_state")
        payout.status = 2
        return True

    async def _statement(self, params: dict) -> list[dict]:
        start, end = _int(params, "date_from"), _int(params, "date_to")
        if start > end:
            raise _Reject("bad_params", "date_from after date_to")
        rows = sorted((p for p in self._payouts.values() if start <= p.created <= end),
                      key=lambda p: (p.created, p.transaction_id))
        return [{"status": p.status, "transaction_id": p.transaction_id,
                 "partner_transaction_id": p.partner_transaction_id, "recipient_card_number": mask_pan(p.card),
                 "recipient_name": p.recipient_name, "amount": p.amount, "commission_amount": p.total - p.amount,
                 "date": p.created} for p in rows]


# ---- pure helpers ----------------------------------------------------------------------------------------------------

_AUTH_DETAILS = {
    "missing": "no Auth header", "malformed": "the Auth header is not service_id-sha1-timestamp",
    "wrong_service": "unknown service", "bad_hash": "bad signature",
    "seconds": "the timestamp must be in milliseconds", "stale": "the timestamp is too far from the server's time",
}


def _full(method: str) -> str:
    return method if method.startswith(PREFIX) or method not in METHODS else PREFIX + method


def _sha1(secret_key: str, timestamp_ms: int) -> str:
    return hashlib.sha1(f"{secret_key}{timestamp_ms}".encode()).hexdigest()


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload, ensure_ascii=False, default=_number),
                        content_type="application/json", headers=headers)


def _number(value: Any) -> Any:
    """The commission percent goes on the wire as a JSON number (0.5), as the seed shows it."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _int(params: dict, name: str) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Reject("bad_params", name)
    return value


def _sender(sender: Any) -> None:
    if not isinstance(sender, dict):
        raise _Reject("bad_params", "sender")
    for name in ("last_name", "first_name"):
        if not isinstance(sender.get(name), str) or not sender[name].strip():
            raise _Reject("bad_params", f"sender.{name}")
    if not isinstance(sender.get("middle_name", ""), str):
        raise _Reject("bad_params", "sender.middle_name")


def _doc(doc: Any) -> None:
    """Seed 004's passport block: nationality (ISO 3166-1 numeric), type passport, seriesNumber, birthDate and
    validTo (DD.MM.YYYY), mrz (PINFL) if any."""
    if not isinstance(doc, dict):
        raise _Reject("bad_params", "doc")
    if not (isinstance(doc.get("nationality"), str) and re.fullmatch(r"\d{3}", doc["nationality"])):
        raise _Reject("bad_params", "doc.nationality")
    if doc.get("type") != "passport":
        raise _Reject("bad_params", "doc.type")
    if not isinstance(doc.get("seriesNumber"), str) or not doc["seriesNumber"]:
        raise _Reject("bad_params", "doc.seriesNumber")
    for name in ("birthDate", "validTo"):
        if not (isinstance(doc.get(name), str) and _DATE.fullmatch(doc[name])):
            raise _Reject("bad_params", f"doc.{name}")
    if "mrz" in doc and not isinstance(doc["mrz"], str):
        raise _Reject("bad_params", "doc.mrz")



def _mask_phone(phone: str) -> str:
    """+998901234550 -> +99890*****50, as the seed shows it."""
    return phone[:6] + "*" * (len(phone) - 8) + phone[-2:]

