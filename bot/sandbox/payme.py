"""Payme Subscribe sandbox: a real JSON-RPC server on 127.0.0.1 speaking seeds 000-002 and providers.md — one
endpoint, the X-Auth rules, the test cards, receipts and their states — so the client is tested against the wire.

Like the Paylov sandbox, tests read the ledger of every request and inject the failures a real gateway has, queued
per JSON-RPC method (`bot/sandbox/server.py` applies them the same way for both emulators):

- `fail_next(method, mode, *, apply=None, code=None, retry_after=1)`, mode one of
  `"timeout"` (no answer until stop()), `"drop"` (the connection closed unanswered), `"500"` (an HTML error page),
  `"429"` (HTTP 429 with `Retry-After: retry_after`, seconds or an HTTP date, and a JSON-RPC error body: code
  -32400 "too many requests" unless `code` names another; the work is never done),
  `"error"` (HTTP 200 with the JSON-RPC error of `code`: a number such as -31303 or a name of ERRORS),
  `"garbage"` (HTTP 200 that is not JSON-RPC: the real answer cut in half when the work was done, else an HTML
  page). `apply` says whether the work is done before the failure: True by default, False for "error" and "429".
- `hold = hold_next(method, apply=False)`: the request parks before the work (apply=False) or after it (True);
  `await hold.reached()`, then `hold.release()` answers as usual (doing the work if not done yet) and
  `hold.release(proceed=False)` closes the connection without doing any work not yet done. stop() releases every
  hold with proceed=False.

Every request is in the ledger with the status the client got (0: none) and `fault`, the mode that hit it. Where
the seeds are silent (which step a bad test card fails at, the codes for an unknown receipt or a receipt in the
wrong state, the body of a 429) the choice is marked "guess" below, in one place.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from bot.sandbox.card_rules import luhn, mask_digits, mask_pan
from bot.sandbox.faults import Fault
from bot.sandbox.server import EmulatorServer

TASHKENT = timezone(timedelta(hours=5))  # card expiry is judged on the provider's calendar
# Called from the user's browser with the merchant id alone (providers.md); everything else needs id:key.
FRONT_METHODS = frozenset({"cards.create", "cards.get_verify_code", "cards.verify"})
CODE = "666666"  # seed 001: the SMS code of every test card
TEST_EXPIRY = "0399"
TEST_PHONE = "998901234566"  # masks to the seed's "99890*****66"
CARD_TYPE = "22618"  # as in seed 000's card examples
SUPPORTED_PREFIXES = ("8600", "9860")  # UzCard, HUMO
DEFAULT_BALANCE = 100_000_000  # tiyin, for any other valid card
MAX_CODE_FAILURES = 3
LOCK_SECONDS = 15 * 60  # providers.md: three wrong codes lock further tries for 15 minutes
MAX_PAGE = 50
MERCHANT_DATE = 1584598670296
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type, X-Auth",
        "Access-Control-Allow-Methods": "POST, OPTIONS"}

# Seed 001's test cards: number -> (error raised by cards.create or None, balance in tiyin). Guess: the bad cards
# fail at cards.create, when the processing centre is first asked about the card.
TEST_CARDS: dict[str, tuple[str | None, int]] = {
    "8600069195406311": (None, 500_000_000),
    "8600495473316478": (None, 2_000_000),  # small: to see insufficient funds
    "8600060921090842": ("sms_not_connected", 0),
    "3333336415804657": ("card_expired", 0),
    "4444445987459073": ("card_blocked", 0),
    "8600143417770323": ("system", 0),
    "8600134301849596": ("slow", 0),  # waits slow_delay, then "processing"
}

# name -> (code, ru, uz, en). Codes from providers.md; the last two are guesses (no seed names them).
ERRORS: dict[str, tuple[int, str, str, str]] = {
    "not_post": (-32300, "Метод запроса должен быть POST", "So'rov usuli POST bo'lishi kerak",
                 "Request method must be POST"),
    "parse": (-32700, "Ошибка разбора JSON", "JSON tahlilida xatolik", "Parse error"),
    "bad_request": (-32600, "Неверный запрос", "Noto'g'ri so'rov", "Invalid request"),
    "unknown_method": (-32601, "Метод не найден", "Metod topilmadi", "Method not found"),
    "auth": (-32504, "Недостаточно привилегий для выполнения метода", "Metodni bajarish uchun huquqlar yetarli emas",
             "Insufficient privileges to perform the method"),
    "system": (-32400, "Неизвестная системная ошибка", "Noma'lum tizim xatosi", "Unknown system error"),
    "service_unavailable": (-31001, "Сервис временно недоступен", "Xizmat vaqtincha mavjud emas",
                            "The service is temporarily unavailable"),
    "processing": (-31002, "Процессинговый центр недоступен", "Protsessing markazi mavjud emas",
                   "Processing centre is unavailable"),
    "code_expired": (-31101, "Срок действия кода истёк. Запросите новый код",
                     "Kodning amal qilish muddati tugadi. Yangi kod so'rang", "The code has expired. Request a new one"),
    "too_many_attempts": (-31102, "Превышено количество попыток ввода кода. Повторите позже",
                          "Kod kiritish urinishlari soni oshib ketdi. Keyinroq urinib ko'ring",
                          "Too many attempts to enter the code. Try again later"),
    "wrong_code": (-31103, "Неверный код", "Kod noto'g'ri", "Wrong code"),
    "sms_not_sent": (-31110, "Код уже отправлен. Повторите запрос позже", "Kod allaqachon yuborilgan. Keyinroq so'rang",
                     "A code has just been sent. Ask again later"),
    "card_number": (-31300, "Неверный номер карты или срок действия", "Karta raqami yoki amal qilish muddati noto'g'ri",
                    "Invalid card number or expiry date"),
    "card_expired": (-31301, "Срок действия карты истёк", "Kartaning amal qilish muddati tugagan", "The card has expired"),
    "card_blocked": (-31301, "Карта заблокирована", "Karta bloklangan", "The card is blocked"),
    "sms_not_connected": (-31301, "К карте не подключено SMS-информирование", "Kartaga SMS-xabarnoma ulanmagan",
                          "SMS notifications are not connected to the card"),
    "balance_unavailable": (-31302, "Баланс карты недоступен", "Karta balansi mavjud emas",
                            "The card's balance is unavailable"),
    "insufficient_funds": (-31303, "Недостаточно средств на карте", "Kartada mablag' yetarli emas",
                           "Insufficient funds on the card"),
    "card_not_found": (-31400, "Карта не найдена", "Karta topilmadi", "Card not found"),
    "amount": (-31611, "Неверная сумма", "Noto'g'ri summa", "Invalid amount"),
    "card_not_verified": (-31630, "Карта не подтверждена", "Karta tasdiqlanmagan", "The card is not verified"),
    "receipt_not_found": (-31602, "Чек не найден", "Chek topilmadi", "Receipt not found"),  # guess
    "receipt_state": (-31601, "Операция недоступна в текущем состоянии чека",  # guess
                      "Chekning joriy holatida amal bajarib bo'lmaydi",
                      "The operation is not allowed in the receipt's current state"),
    # guess: no seed shows a 429; its body is the generic system error with a rate-limit text
    "too_many_requests": (-32400, "Слишком много запросов. Повторите позже",
                          "So'rovlar juda ko'p. Keyinroq urinib ko'ring", "Too many requests. Try again later"),
}
LANGUAGES = ("ru", "uz", "en")
# Account titles as the merchant's cashbox would name them: (ru, uz). Any other key is titled by its own name.
ACCOUNT_TITLES = {"transaction": ("Номер чека", "Chek raqami"), "order_id": ("Номер заказа", "Buyurtma raqami")}

_TOKEN = re.compile(r"\b([0-9a-f]{24})_[A-Za-z0-9]+")
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class LedgerEntry:
    """One request as the sandbox received it. `method` is the JSON-RPC method ("" when the body had none);
    `auth` classifies X-Auth: "id", "id:key", "none" or "wrong". `status` is 0 when a fault withheld the answer (or a
    hold still parks it); `fault` names the fault that hit it ("drop", "error", "hold", ...), None for a plain answer.
    `response` is the JSON sent, the text of a "garbage" answer, or None when no JSON was sent."""

    method: str
    http_method: str
    path: str
    auth: str
    body: Any
    status: int
    response: Any
    fault: str | None = None

    def __repr__(self) -> str:
        # Bodies hold test card numbers and tokens: keep them out of assertion messages and logs.
        text = (f"LedgerEntry(method={self.method!r}, http_method={self.http_method!r}, path={self.path!r}, "
                f"auth={self.auth!r}, body={self.body!r}, status={self.status!r}, response={self.response!r}, "
                f"fault={self.fault!r})")
        text = _TOKEN.sub(lambda m: m.group(1) + "_***", text)
        return mask_digits(text)


@dataclass
class _Card:
    token: str
    number: str
    expire: str  # MMYY
    recurrent: bool
    balance: int  # tiyin
    phone: str = TEST_PHONE
    verified: bool = False
    code_sent_at: float | None = None
    failures: int = 0
    locked_until: float = 0.0


@dataclass
class _Receipt:
    id: str
    seq: int  # creation order, to break create_time ties
    amount: int  # tiyin
    account: list[tuple[str, Any]]
    description: str
    detail: Any
    create_time: int  # ms
    state: int = 0
    pay_time: int = 0
    cancel_time: int = 0
    card: _Card | None = None
    payer_phone: str | None = None
    processing_id: int | None = None
    cancel_source: bool = False
    cancel_checks: int = 0
    sent_to: list[str] = field(default_factory=list)



class _Reject(Exception):
    def __init__(self, name: str, detail: str | None = None) -> None:
        super().__init__(name)
        self.name, self.detail = name, detail

    def payload(self, language: str) -> dict:
        code, *texts = ERRORS[self.name]
        message = texts[LANGUAGES.index(language)]
        return {"code": code, "message": f"{message}: {self.detail}" if self.detail else message}


class PaymeSandbox(EmulatorServer):
    SERVER_ERROR_PAGE = "<h1>500 Internal Server Error</h1>"
    HEADERS = CORS

    def __init__(self, *, merchant_id: str = "sandbox-merchant", key: str = "sandbox-key",
                 clock: Callable[[], float] = time.time, code_ttl: int = 120, wait_ms: int = 60000,
                 slow_delay: float = 10.0) -> None:
        super().__init__()
        self.merchant_id, self.key = merchant_id, key
        self._clock = clock
        self.code_ttl, self.wait_ms, self.slow_delay = code_ttl, wait_ms, slow_delay
        self.cancel_settles_after = 1  # receipts.get/check calls that see a paid receipt's cancel (21) before 50
        self.ledger: list[LedgerEntry]
        self._cards: dict[str, _Card] = {}  # live tokens
        self._issued: dict[str, _Card] = {}  # every token ever issued, for card_balance after removal
        self._receipts: dict[str, _Receipt] = {}
        self._methods: dict[str, Callable[[dict], Awaitable[Any]]] = {
            "cards.create": self._cards_create, "cards.get_verify_code": self._cards_get_verify_code,
            "cards.verify": self._cards_verify, "cards.check": self._cards_check, "cards.remove": self._cards_remove,
            "receipts.create": self._receipts_create, "receipts.pay": self._receipts_pay,
            "receipts.send": self._receipts_send, "receipts.cancel": self._receipts_cancel,
            "receipts.check": self._receipts_check, "receipts.get": self._receipts_get,
            "receipts.get_all": self._receipts_get_all,
        }

    # ---- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve and return the endpoint URL, `http://127.0.0.1:PORT/api`."""
        app = web.Application()
        for path in ("/api", "/api/", "/api/{name}"):  # seed 001 also writes the method into the path
            app.router.add_route("*", path, self._endpoint)
        return await self._listen(app, host, port, "/api")


    # ---- test controls ---------------------------------------------------------------------------------------------

    def calls(self, method: str) -> list[LedgerEntry]:
        return [entry for entry in self.ledger if entry.method == method]



    def card_balance(self, token: str) -> int:
        """In tiyin; also for a token since removed or spent."""
        return self._issued[token].balance

    def receipt(self, receipt_id: str) -> dict:
        """The receipt as receipts.get would show it, without counting as a get."""
        return self._receipt_json(self._receipts[receipt_id])

    # ---- state kept between demo runs (DEMO_KEEP) ------------------------------------------------------------------

    def dump(self) -> dict:
        """Cards (every token issued, which of them are live) and receipts as JSON, for load() in a later run.
        Numbers are kept masked: nothing here shows more of a card than its first six and last four digits."""
        receipts = []
        for receipt in self._receipts.values():
            row = asdict(receipt)
            row["card"] = receipt.card.token if receipt.card else None
            receipts.append(row)
        return {"cards": [{**asdict(card), "number": mask_pan(card.number)} for card in self._issued.values()],
                "live": list(self._cards), "receipts": receipts}

    def load(self, state: dict) -> None:
        """What dump() gave; a saved token pays again, an earlier receipt keeps its state."""
        for row in state.get("cards", []):
            self._issued[row["token"]] = _Card(**row)
        for token in state.get("live", []):
            self._cards[token] = self._issued[token]
        for row in state.get("receipts", []):
            receipt = _Receipt(**{**row, "card": self._issued.get(row["card"] or "")})
            receipt.account = [tuple(pair) for pair in receipt.account]
            receipt.seq = len(self._receipts)
            self._receipts[receipt.id] = receipt

    # ---- plumbing --------------------------------------------------------------------------------------------------

    async def _endpoint(self, request: web.Request) -> web.StreamResponse:
        if request.method == "OPTIONS":  # CORS preflight: the front-end methods are called from browsers
            return web.Response(status=204, headers={**CORS, "Access-Control-Max-Age": "86400"})
        language = _language(request.headers.get("Accept-Language", ""))
        auth = self._auth_kind(request.headers.get("X-Auth"))
        raw = await request.read()
        if request.method != "POST":
            return await self._early(request, auth, None, _Reject("not_post"), language)
        try:
            body = json.loads(raw)
        except ValueError:
            return await self._early(request, auth, raw.decode("utf-8", "replace"), _Reject("parse"), language)
        method = body.get("method") if isinstance(body, dict) else None
        method = method if isinstance(method, str) else ""
        fault = self._take_fault(method)

        async def work() -> tuple[int, Any]:
            return 200, await self._dispatch(request, body, method, language)

        def entry(status: int, response: Any, mode: str | None) -> LedgerEntry:
            return LedgerEntry(method, request.method, request.path, auth, body, status, response, mode)

        return await self._respond(request, fault, work, entry, body)

    async def _early(self, request: web.Request, auth: str, body: Any, reject: _Reject,
                     language: str) -> web.Response:
        """Refused before the method is known: recorded under method "", faults do not apply."""
        payload = {"id": None, "error": reject.payload(language)}
        await self._record("", request, auth, body, 200, payload)
        return _json(payload)

    async def _dispatch(self, request: web.Request, body: Any, method: str, language: str) -> dict:
        """Errors answer HTTP 200 with the JSON-RPC error (seed 001), without "jsonrpc" as the seed shows them."""
        rpc_id = body.get("id") if isinstance(body, dict) else None
        try:
            if not isinstance(body, dict) or not method:
                raise _Reject("bad_request", "method")
            path_name = request.match_info.get("name")
            if path_name is not None and path_name != method:
                raise _Reject("bad_request", "the method in the path differs from the body's")
            params = body.get("params", {})
            if not isinstance(params, dict):
                raise _Reject("bad_request", "params")
            handler = self._methods.get(method)
            if handler is None:
                raise _Reject("unknown_method")
            self._authorize(request.headers.get("X-Auth"), method)
            result = await handler(params)
        except _Reject as reject:
            return {"id": rpc_id, "error": reject.payload(language)}
        return {"jsonrpc": "2.0", "id": rpc_id, "result": result}

    def _auth_kind(self, header: str | None) -> str:
        if not header:
            return "none"
        if header == self.merchant_id:
            return "id"
        return "id:key" if header == f"{self.merchant_id}:{self.key}" else "wrong"

    def _authorize(self, header: str | None, method: str) -> None:
        kind = self._auth_kind(header)
        if kind == "id:key" or (kind == "id" and method in FRONT_METHODS):
            return
        raise _Reject("auth")

    async def _record(self, method: str, request: web.Request, auth: str, body: Any, status: int,
                      payload: Any) -> None:
        await self._append(LedgerEntry(method, request.method, request.path, auth, body, status, payload))

    def _take_fault(self, method: str) -> Fault | None:
        return self._pop_fault(lambda fault: fault.key == method)

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> web.StreamResponse:
        return _json(payload, status, headers)

    def _fault_answer(self, fault: Fault, request: web.Request, body: Any) -> tuple[int, Any]:
        """Seed 001's error envelope: HTTP 200 for "error", 429 for "429"."""
        name = _error_name(fault.code) if fault.code is not None else "too_many_requests"
        language = _language(request.headers.get("Accept-Language", ""))
        rpc_id = body.get("id") if isinstance(body, dict) else None
        return (429 if fault.mode == "429" else 200), {"id": rpc_id, "error": _Reject(name).payload(language)}

    def _check_code(self, code: str | int) -> None:
        _error_name(code)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _card(self, params: dict) -> _Card:
        card = self._cards.get(_text(params, "token"))
        if card is None:
            raise _Reject("card_not_found")
        return card

    def _find_receipt(self, params: dict) -> _Receipt:
        receipt = self._receipts.get(_text(params, "id"))
        if receipt is None:
            raise _Reject("receipt_not_found")
        return receipt

    # ---- cards -----------------------------------------------------------------------------------------------------

    async def _cards_create(self, params: dict) -> dict:
        card = params.get("card")
        save = params.get("save", True)
        if not isinstance(card, dict) or not isinstance(save, bool):
            raise _Reject("bad_request", "card, save")
        number, expire = _text(card, "number"), _text(card, "expire").replace("/", "")
        if len(number) > 18 or not number.isdigit():
            raise _Reject("card_number")
        scenario = TEST_CARDS.get(number)
        if scenario is not None:
            outcome, balance = scenario
            if expire != TEST_EXPIRY:
                raise _Reject("card_number")
            if outcome == "slow":  # seed 001: the processing centre hangs, then fails
                try:
                    await asyncio.wait_for(self._released.wait(), self.slow_delay)
                except TimeoutError:
                    pass
                raise _Reject("processing")
            if outcome is not None:
                raise _Reject(outcome)
        else:
            if len(number) != 16 or not luhn(number) or not number.startswith(SUPPORTED_PREFIXES):
                raise _Reject("card_number")
            self._check_expiry(expire)
            balance = DEFAULT_BALANCE
        token = f"{secrets.token_hex(12)}_{''.join(secrets.choice(_ALPHABET) for _ in range(64))}"
        created = self._cards[token] = self._issued[token] = _Card(token, number, expire, save, balance)
        return {"card": _card_json(created)}

    def _check_expiry(self, expire: str) -> None:
        if not re.fullmatch(r"(0[1-9]|1[0-2])\d{2}", expire):
            raise _Reject("card_number")
        now = datetime.fromtimestamp(self._clock(), TASHKENT)
        if (2000 + int(expire[2:]), int(expire[:2])) < (now.year, now.month):
            raise _Reject("card_expired")

    def _check_lock(self, card: _Card) -> None:
        if card.locked_until > self._clock():
            raise _Reject("too_many_attempts")
        if card.locked_until:
            card.locked_until, card.failures = 0.0, 0

    async def _cards_get_verify_code(self, params: dict) -> dict:
        card = self._card(params)
        self._check_lock(card)
        now = self._clock()
        if card.code_sent_at is not None and (now - card.code_sent_at) * 1000 < self.wait_ms:
            raise _Reject("sms_not_sent")  # asked again inside the `wait` the last answer gave
        card.code_sent_at, card.failures = now, 0
        return {"sent": True, "phone": _mask_phone(card.phone), "wait": self.wait_ms}

    async def _cards_verify(self, params: dict) -> dict:
        card = self._card(params)
        code = _text(params, "code")
        self._check_lock(card)
        if card.code_sent_at is None or self._clock() - card.code_sent_at > self.code_ttl:
            raise _Reject("code_expired")  # never asked, or asked too long ago
        if code != CODE:
            card.failures += 1
            if card.failures >= MAX_CODE_FAILURES:
                card.locked_until, card.code_sent_at = self._clock() + LOCK_SECONDS, None
                raise _Reject("too_many_attempts")
            raise _Reject("wrong_code")
        card.verified, card.code_sent_at, card.failures = True, None, 0
        return {"card": _card_json(card)}

    async def _cards_check(self, params: dict) -> dict:
        return {"card": _card_json(self._card(params))}

    async def _cards_remove(self, params: dict) -> dict:
        del self._cards[self._card(params).token]
        return {"success": True}

    # ---- receipts --------------------------------------------------------------------------------------------------

    async def _receipts_create(self, params: dict) -> dict:
        amount, account = params.get("amount"), params.get("account")
        description, detail = params.get("description", ""), params.get("detail")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise _Reject("amount")  # tiyin, an integer: a float is refused rather than rounded
        if not isinstance(account, dict) or not account or not all(
                isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool)
                for k, v in account.items()):
            raise _Reject("bad_request", "account")
        if not isinstance(description, str) or (detail is not None and not isinstance(detail, dict)):
            raise _Reject("bad_request", "description, detail")
        receipt = _Receipt(secrets.token_hex(12), len(self._receipts), amount, list(account.items()), description,
                           detail, self._now_ms())
        self._receipts[receipt.id] = receipt
        return {"receipt": self._receipt_json(receipt)}

    async def _receipts_pay(self, params: dict) -> dict:
        receipt = self._find_receipt(params)
        card = self._card(params)
        payer = params.get("payer")
        if payer is not None and not (isinstance(payer, dict) and isinstance(payer.get("phone", ""), str)):
            raise _Reject("bad_request", "payer")
        if not card.verified:
            raise _Reject("card_not_verified")
        if receipt.state != 0:
            raise _Reject("receipt_state")
        if card.balance < receipt.amount:
            raise _Reject("insufficient_funds")
        card.balance -= receipt.amount
        receipt.state, receipt.pay_time, receipt.card, receipt.processing_id = 4, self._now_ms(), card, 0
        receipt.payer_phone = payer.get("phone") if payer else None
        if not card.recurrent:  # seed 000: a one-time token is deleted after payment
            self._cards.pop(card.token, None)
        return {"receipt": self._receipt_json(receipt)}

    async def _receipts_send(self, params: dict) -> dict:
        receipt = self._find_receipt(params)
        phone = _text(params, "phone")
        if not re.fullmatch(r"\d{9,15}", phone):
            raise _Reject("bad_request", "phone")
        receipt.sent_to.append(phone)
        return {"success": True}

    async def _receipts_cancel(self, params: dict) -> dict:
        """A paid receipt is queued (21) and settles on a later get/check; an unpaid one is cancelled at once."""
        receipt = self._find_receipt(params)
        if receipt.state == 0:
            receipt.state, receipt.cancel_time = 50, self._now_ms()
        elif receipt.state == 4:
            receipt.state, receipt.cancel_checks = 21, 0
        else:
            raise _Reject("receipt_state")
        receipt.cancel_source = True
        return {"receipt": self._receipt_json(receipt)}

    def _advance(self, receipt: _Receipt) -> None:
        if receipt.state != 21:
            return
        receipt.cancel_checks += 1
        if receipt.cancel_checks >= self.cancel_settles_after:
            receipt.state, receipt.cancel_time = 50, self._now_ms()
            if receipt.card is not None:
                receipt.card.balance += receipt.amount  # the reversal refunds the card

    async def _receipts_check(self, params: dict) -> dict:
        receipt = self._find_receipt(params)
        self._advance(receipt)
        return {"state": receipt.state}

    async def _receipts_get(self, params: dict) -> dict:
        receipt = self._find_receipt(params)
        self._advance(receipt)
        return {"receipt": self._receipt_json(receipt)}

    async def _receipts_get_all(self, params: dict) -> list[dict]:
        count, start, end, offset = (params.get(k) for k in ("count", "from", "to", "offset"))
        values = (count, start, end, 0 if offset is None else offset)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise _Reject("bad_request", "count, from, to, offset")
        offset = values[3]
        if not 1 <= count <= MAX_PAGE or offset < 0 or start > end:
            raise _Reject("bad_request", "count, from, to, offset")
        rows = sorted((r for r in self._receipts.values() if start <= r.create_time <= end),
                      key=lambda r: (r.create_time, r.seq), reverse=True)  # newest first, as the seed lists
        return [self._receipt_json(r, listing=True) for r in rows[offset:offset + count]]

    def _receipt_json(self, receipt: _Receipt, *, listing: bool = False) -> dict:
        """Seed 000's receipt. get_all (listing) gives titles and the merchant type per language, values as sent."""
        account = []
        for index, (name, value) in enumerate(receipt.account):
            ru, uz = ACCOUNT_TITLES.get(name, (name, name))
            account.append({"name": name, "title": {"ru": ru, "uz": uz} if listing else ru,
                            "value": value if listing else str(value), "main": index == 0})
        meta = {"source": "subscribe", "owner": self.merchant_id}
        if receipt.cancel_source:
            meta["source_cancel"] = "subscribe"
        card = receipt.card
        return {
            "_id": receipt.id, "create_time": receipt.create_time, "pay_time": receipt.pay_time,
            "cancel_time": receipt.cancel_time, "state": receipt.state, "type": 2, "external": False,
            "operation": -1, "category": None, "error": None, "description": receipt.description,
            "detail": receipt.detail, "amount": receipt.amount, "currency": 860, "commission": 0,
            "account": account,
            "card": None if card is None else {"number": mask_pan(card.number),
                                               "expire": card.expire[2:] + card.expire[:2]},
            "merchant": {"_id": self.merchant_id, "name": "sandbox", "organization": "ЧП «Sandbox»", "address": "",
                         "business_id": "5e730e740b852a417aa49cea",
                         "epos": {"merchantId": "106600000050000", "terminalId": "20660000"},
                         "date": MERCHANT_DATE, "logo": None,
                         "type": {"ru": "Internet", "uz": "Internet"} if listing else "Internet", "terms": None},
            "meta": meta, "processing_id": receipt.processing_id,
        }


# ---- pure helpers ----------------------------------------------------------------------------------------------------


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload, ensure_ascii=False), content_type="application/json",
                        headers={**CORS, **(headers or {})})


def _error_name(code: str | int) -> str:
    """An ERRORS name, from itself or from its number (the first name with that number)."""
    if isinstance(code, str) and code in ERRORS:
        return code
    if isinstance(code, int) and not isinstance(code, bool):
        for name, (number, *_texts) in ERRORS.items():
            if number == code:
                return name
    raise ValueError(f"Payme documents no error code {code!r} (known: bot.sandbox.payme.ERRORS, by name or number)")


def _language(header: str) -> str:
    """The first of ru/uz/en that Accept-Language names; Russian otherwise, as the service defaults."""
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "ru"


def _text(params: dict, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise _Reject("bad_request", name)
    return value


def _card_json(card: _Card) -> dict:
    """Seed 000's card: expire shown as MM/YY."""
    return {"number": mask_pan(card.number), "expire": f"{card.expire[:2]}/{card.expire[2:]}", "token": card.token,
            "recurrent": card.recurrent, "verify": card.verified, "type": CARD_TYPE}



def _mask_phone(phone: str) -> str:
    return phone[:5] + "*" * (len(phone) - 7) + phone[-2:]

