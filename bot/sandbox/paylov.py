"""Paylov sandbox: a real HTTP server on 127.0.0.1 speaking seed 003 and providers.md — same paths, methods, auth,
fields, envelopes and statuses — so the client is tested against the wire, not against a mock of itself.

Tests read the ledger of every request and inject the failures a real gateway has (`fail_next`: no answer, a
dropped connection before or after the work, a 500, a 429, any documented error code, garbage; `hold_next`: a
request parked until the test lets it go; `settle_after`: a payment that settles late). The catalogue, test
accounts and test cards live in `paylov_catalogue`; see PAYLOV_SANDBOX.md for the table and the controls.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from aiohttp import web

from bot.sandbox import paylov_catalogue as data
from bot.sandbox.card_rules import luhn, mask_digits, mask_pan
from bot.sandbox.faults import Fault
from bot.sandbox.server import EmulatorServer

TASHKENT = timezone(timedelta(hours=5))  # the provider's wall clock, whatever the host's zone
TOKEN_PATH = "/merchant/oauth2/token/"
DEFAULT_PHONE = "+998900000000"
MAX_OTP_FAILURES = 3
# Routes with an id in the path: calls("servicePayment/fields/") must find "/servicePayment/fields/<id>/".
_DYNAMIC_PREFIXES = ("/servicePayment/fields/", "/merchant/userCard/getCard/")
BODY = web.RequestKey("body", object)  # the parsed JSON body, read once by the middleware

MESSAGES = {
    "card_expired": "Срок действия карты истёк",
    "card_is_blocked": "Карта заблокирована",
    "sms_not_active": "SMS-информирование не подключено",
    "unknown_error": "Неизвестная системная ошибка",
    "processing_error": "Ошибка процессингового центра",
    "invalid_otp": "Неверный код подтверждения",
    "otp_expired": "Срок действия кода истёк",
    "too_many_attempts": "Слишком много попыток",
    "insufficient_funds": "Недостаточно средств",
    "pan_not_valid": "Неверный номер карты",
    "invalid_card": "Неверные данные карты",
    "card_is_not_supported": "Карта не поддерживается",
    "card_not_found": "Карта не найдена",
    "card_is_already_activated": "Карта уже активирована",
    "account_not_found": "Лицевой счёт не найден",
    "field_not_valid": "Неверно заполнено поле",
    "info_not_available": "Сервис не поддерживает запрос информации",
    "service_not_available": "Сервис недоступен",
    "invalid_amount": "Неверная сумма",
    "validation_error": "Ошибка валидации",
    "phone_not_match": "Номер телефона не совпадает с номером карты",
    "transaction_already_payed": "Транзакция уже оплачена",
    "transaction_not_available_for_payment": "Транзакция недоступна для оплаты",
    "transaction_not_found": "Транзакция не найдена",
    "invalid_grant": "Неверные учётные данные",
    "invalid_client": "Неверные данные клиента",
    "unsupported_grant_type": "Неподдерживаемый тип авторизации",
    "unauthorized": "Требуется авторизация",
    "not_found": "Не найдено",
    "method_not_allowed": "Метод не разрешён",
    # providers.md lists these too; the emulator answers them only when a test orders one (fail_next "error").
    "card_has_no_phone": "К карте не привязан номер телефона",
    "daily_limit_used_for_this_card": "Дневной лимит по карте исчерпан",
    "server_error": "Ошибка сервера",
    "gateway_not_working": "Шлюз не работает",
    "card_not_found_in_processing_center": "Карта не найдена в процессинговом центре",
    "card_is_blocked_in_processing_center": "Карта заблокирована в процессинговом центре",
    "balance_refresh_error": "Ошибка обновления баланса",
    # Guess: no seed names the code of a 429; the body keeps the envelope every other refusal has.
    "too_many_requests": "Слишком много запросов",
}
THROTTLED = "too_many_requests"
# Refusals answered with another status than 400, as the endpoints themselves answer them.
REJECT_STATUS = {"unauthorized": 401, "invalid_client": 401, "not_found": 404, "method_not_allowed": 405}


@dataclass(frozen=True)
class LedgerEntry:
    """One request as the sandbox received it. `status` is what the client got: 0 when a fault withheld it (or a
    hold still parks it). `fault` names the fault that hit it ("drop", "429", "hold", ...), None for a plain answer;
    `response` is the JSON sent, the text of a "garbage" answer, or None when no JSON was sent."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    response: Any
    fault: str | None = None

    def __repr__(self) -> str:
        # Bodies hold test card numbers: keep them out of assertion messages and logs.
        text = (f"LedgerEntry(method={self.method!r}, path={self.path!r}, query={self.query!r}, body={self.body!r}, "
                f"status={self.status!r}, response={self.response!r}, fault={self.fault!r})")
        return mask_digits(text)


@dataclass
class _Card:
    user_id: str
    card_id: str
    number: str
    expire: str
    phone: str
    balance: int  # tiyin
    name: str = ""


@dataclass
class _Pending:
    card: _Card
    sent_at: float
    failures: int = 0


@dataclass
class _Transaction:
    id: str
    service_id: str
    account: dict[str, str]
    amount: int  # whole sums
    user_id: str | None
    card_id: str | None  # given at create: pay then needs the OTP
    created_at: float
    status: str = "created"
    otp_failures: int = 0
    payed_at: str | None = None
    cancel_time: str | None = None
    payment_ref: str | None = None
    paid_with: _Card | None = None
    status_calls: int = 0
    settle: tuple[int, str] | None = None


class _Reject(Exception):
    def __init__(self, code: str, message: str | None = None, status: int = 400) -> None:
        super().__init__(code)
        self.code, self.status = code, status
        self.message = message or MESSAGES.get(code, code)


class PaylovSandbox(EmulatorServer):
    USERNAME = "sandbox"
    PASSWORD = "sandbox"
    CONSUMER_KEY = "sandbox-key"
    CONSUMER_SECRET = "sandbox-secret"

    def __init__(self, *, clock: Callable[[], float] = time.time, token_ttl: int = 3600, refresh_ttl: int = 604800,
                 otp_ttl: int = 120, slow_delay: float = 10.0) -> None:
        super().__init__()
        self._clock = clock
        self.token_ttl, self.refresh_ttl, self.otp_ttl, self.slow_delay = token_ttl, refresh_ttl, otp_ttl, slow_delay
        self.ledger: list[LedgerEntry]
        self._access: dict[str, float] = {}  # token -> expires at
        self._refresh: dict[str, float] = {}
        self._pending: dict[str, _Pending] = {}  # cid -> card waiting for its SMS code
        self._superseded: set[str] = set()  # cids replaced by a newer createUserCard ("send a new code")
        self._activated: dict[str, str] = {}  # cid -> cardId
        self._cards: dict[str, _Card] = {}
        self._transactions: dict[str, _Transaction] = {}
        self._outside: list[dict] = []

    # ---- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(middlewares=[self._serve])
        r = app.router
        r.add_post(TOKEN_PATH, self._token)
        r.add_get("/servicePayment/list/", self._list)
        r.add_get("/servicePayment/fields/{service_id}/", self._fields)
        r.add_post("/servicePayment/info/", self._info)
        r.add_post("/servicePayment/create/", self._create)
        r.add_post("/servicePayment/pay/", self._pay)
        r.add_get("/servicePayment/transaction/status/", self._status)
        for path in ("/servicePayment/transaction/all/", "/servicePayment/transaction/all",
                     "/merchant/servicePayment/transaction/all/", "/merchant/servicePayment/transaction/all"):
            r.add_get(path, self._all)
        r.add_post("/merchant/userCard/createUserCard/", self._card_create)
        r.add_post("/merchant/userCard/confirmUserCardCreate/", self._card_confirm)
        r.add_get("/merchant/userCard/getAllUserCards/", self._card_list)
        r.add_get("/merchant/userCard/getCard/{card_id}/", self._card_get)
        r.add_delete("/merchant/userCard/deleteUserCard/", self._card_delete)
        return await self._listen(app, host, port)


    # ---- test controls ---------------------------------------------------------------------------------------------

    def calls(self, path_suffix: str) -> list[LedgerEntry]:
        return [entry for entry in self.ledger if _matches(entry.path, path_suffix)]


    def expire_tokens(self) -> None:
        for token in self._access:
            self._access[token] = float("-inf")


    def settle_after(self, transaction_id: str, status_calls: int,
                     final: Literal["paid", "cancelled"] = "paid") -> None:
        """transaction/status hides a payment (answers "created", or the state if not paid) for N - 1 asks,
        then the N-th ask settles it as `final`: a paid one debits the card, a cancelled one refunds it."""
        if final not in ("paid", "cancelled"):
            raise ValueError(f"unknown final status {final!r}")
        tx = self._transactions[transaction_id]
        tx.settle, tx.status_calls = (status_calls, final), 0

    def add_outside_payment(self, user_id: str, service_id: str, amount: int, date: datetime,
                            card_number_masked: str, owner: str) -> str:
        """A payment the user made elsewhere (another app on the same merchant): it shows in transaction/all."""
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError("amount is whole sums, an int")
        transaction_id = str(uuid.uuid4())
        self._outside.append({"id": transaction_id, "userId": str(user_id), "cardNumber": card_number_masked,
                              "owner": owner, "amount": amount, "date": _provider_time(date),
                              "serviceId": service_id})
        return transaction_id

    def add_merchant_card(self, card_id: str = "", number: str = "", balance: int = 0) -> str:
        """The merchant's own card (no user, no SMS code), which settles bills charged through Payme receipts."""
        card_id = card_id or data.SETTLEMENT_CARD_ID
        self._cards[card_id] = _Card("merchant", card_id, number or data.SETTLEMENT_CARD_NUMBER, data.TEST_EXPIRY,
                                     data.TEST_PHONE, balance or data.SETTLEMENT_BALANCE, "settlement")
        return card_id

    def merchant_card_balance(self, card_id: str = "") -> int:
        """In tiyin."""
        return self._cards[card_id or data.SETTLEMENT_CARD_ID].balance

    def card_balance(self, user_id: str, card_id: str) -> int:
        """In tiyin."""
        card = self._cards.get(card_id)
        if card is None or card.user_id != str(user_id):
            raise KeyError(f"user {user_id} has no card {card_id}")
        return card.balance

    def transaction(self, transaction_id: str) -> dict:
        """The true state, which settle_after may be hiding from transaction/status."""
        tx = self._transactions[transaction_id]
        return {"status": tx.status, "amount": tx.amount, "account": dict(tx.account), "cardId": tx.card_id,
                "service": tx.service_id}

    # ---- state kept between demo runs (DEMO_KEEP) ------------------------------------------------------------------

    def dump(self) -> dict:
        """Saved cards and transactions as JSON, for load() in a later run. Numbers are kept masked: nothing here
        shows more of a card than its first six and last four digits."""
        cards = [_masked(asdict(card)) for card in self._cards.values()]
        transactions = []
        for tx in self._transactions.values():
            row = asdict(tx)
            row["paid_with"] = row["paid_with"] and _masked(row["paid_with"])
            transactions.append(row)
        return {"cards": cards, "transactions": transactions}

    def load(self, state: dict) -> None:
        """What dump() gave; a saved card pays again, an earlier payment keeps its status."""
        for row in state.get("cards", []):
            self._cards[row["card_id"]] = _Card(**row)
        for row in state.get("transactions", []):
            paid_with = row.pop("paid_with")
            tx = _Transaction(**row, paid_with=paid_with and (self._cards.get(paid_with["card_id"])
                                                                 or _Card(**paid_with)))
            tx.settle = tuple(tx.settle) if tx.settle else None
            self._transactions[tx.id] = tx

    # ---- plumbing --------------------------------------------------------------------------------------------------

    @web.middleware
    async def _serve(self, request: web.Request, handler) -> web.StreamResponse:
        body = request[BODY] = await _read_json(request)
        fault = self._take_fault(request.path)

        async def work() -> tuple[int, Any]:
            try:
                payload = await handler(request)
                if request.path != TOKEN_PATH:
                    payload["error"] = None  # providers.md: success is {"result": ..., "error": null}
                return 200, payload
            except _Reject as reject:
                return reject.status, _error(reject, wrapped=request.path != TOKEN_PATH)
            except web.HTTPException as exc:  # unknown path or method: still answered and recorded as JSON
                code = "method_not_allowed" if exc.status == 405 else "not_found"
                return exc.status, _error(_Reject(code, status=exc.status))

        def entry(status: int, response: Any, mode: str | None) -> LedgerEntry:
            return LedgerEntry(request.method, request.path, dict(request.query), body, status, response, mode)

        return await self._respond(request, fault, work, entry, body)

    def _take_fault(self, path: str) -> Fault | None:
        return self._pop_fault(lambda fault: _matches(path, fault.key))

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> web.StreamResponse:
        return web.json_response(payload, status=status, dumps=_dumps, headers=headers)

    def _fault_answer(self, fault: Fault, request: web.Request, body: Any) -> tuple[int, Any]:
        """The envelope of every refusal (the bare OAuth2 one at the token endpoint): HTTP 400 like the endpoints'
        own refusals, or 429 with `too_many_requests` unless the test named another code."""
        code = str(fault.code) if fault.code is not None else THROTTLED
        status = 429 if fault.mode == "429" else REJECT_STATUS.get(code, 400)
        return status, _error(_Reject(code, status=status), wrapped=request.path != TOKEN_PATH)

    def _check_code(self, code: str | int) -> None:
        if code not in MESSAGES:
            raise ValueError(f"Paylov documents no error code {code!r} (known: bot.sandbox.paylov.MESSAGES)")

    def _authorized(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or self._access.get(token.strip(), float("-inf")) <= self._clock():
            raise _Reject("unauthorized", status=401)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), TASHKENT)

    def _now_text(self) -> str:
        return self._now().strftime("%Y-%m-%d %H:%M:%S")

    # ---- oauth -----------------------------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> dict:
        """OAuth2 password and refresh grants; the answer is the bare OAuth2 shape, not wrapped in `result`."""
        expected = base64.b64encode(f"{self.CONSUMER_KEY}:{self.CONSUMER_SECRET}".encode()).decode()
        if request.headers.get("Authorization", "") != f"Basic {expected}":
            raise _Reject("invalid_client", status=401)
        body = _object(request[BODY])
        grant = body.get("grant_type")
        if grant == "password":
            if (body.get("username"), body.get("password")) != (self.USERNAME, self.PASSWORD):
                raise _Reject("invalid_grant")
        elif grant == "refresh_token":
            # Single use: a refresh token is spent by the grant it buys.
            if self._refresh.pop(str(body.get("refresh_token")), float("-inf")) <= self._clock():
                raise _Reject("invalid_grant")
        else:
            raise _Reject("unsupported_grant_type")
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._access[access] = self._clock() + self.token_ttl
        self._refresh[refresh] = self._clock() + self.refresh_ttl
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": self.token_ttl, "refresh_expires_in": self.refresh_ttl}

    # ---- catalogue -------------------------------------------------------------------------------------------------

    async def _list(self, request: web.Request) -> dict:
        self._authorized(request)
        return {"result": {"services": copy.deepcopy(data.SERVICES)}}  # the ledger must not alias the catalogue

    async def _fields(self, request: web.Request) -> dict:
        self._authorized(request)
        service = _service(request.match_info["service_id"])
        return {"result": {"data": [copy.deepcopy({**service, "fields": data.FIELDS[service["service_id"]],
                                                    "response_fields": data.RESPONSE_FIELDS})]}}

    async def _info(self, request: web.Request) -> dict:
        self._authorized(request)
        body = _object(request[BODY])
        service = _service(body.get("service_id"))
        if not service["is_active"]:
            raise _Reject("service_not_available")
        if not service["has_info_method"]:
            raise _Reject("info_not_available")
        account = _account(service, body.get("account"))
        holder = _holder(service, account)
        return {"result": {"data": self._holder_items(holder) + _echo(service, account)}}

    def _holder_items(self, holder: tuple[str, str, str] | None) -> list[dict]:
        if holder is None:
            return []
        name, address, saldo = holder
        return [
            {"name": "time", "value": self._now().strftime("%d.%m.%Y %H:%M:%S"), "title": "time"},
            {"name": "fio", "value": name, "title": "fio"},
            {"name": "address", "value": address, "title": "address"},
            {"name": "last_paid_date", "value": "2024-08-23", "title": "last_paid_date"},
            {"name": "last_paid", "value": "50000 UZS", "title": "last_paid"},
            {"name": "saldo", "value": saldo, "title": "balance"},
        ]

    # ---- payments --------------------------------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> dict:
        self._authorized(request)
        body = _object(request[BODY])
        service = _service(body.get("service_id"))
        if not service["is_active"] or not service["payment_available"]:
            raise _Reject("service_not_available")
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise _Reject("validation_error", "amount: a whole number of sums is expected")
        if not service["amount"]["min"] <= amount <= service["amount"]["max"]:
            raise _Reject("invalid_amount")
        account = _account(service, body.get("account"))
        holder = _holder(service, account)
        user_id = _optional_id(body.get("userId"), "userId")
        card_id = body.get("cardId") or None
        if card_id is not None:
            card = self._cards.get(str(card_id))
            if card is None or card.user_id != user_id:
                raise _Reject("card_not_found")
            phone = body.get("phoneNumber")
            if phone and _digits(str(phone)) != _digits(card.phone):
                raise _Reject("phone_not_match")
        tx = _Transaction(str(uuid.uuid4()), service["service_id"], account, amount, user_id,
                          str(card_id) if card_id else None, self._clock())
        self._transactions[tx.id] = tx
        result: dict[str, Any] = {"transactionId": tx.id,
                                  "data": _echo(service, account) + self._holder_items(holder)}
        if tx.card_id is not None:
            result["sms"] = {"otpSentPhone": _mask_phone(self._cards[tx.card_id].phone)}
        return {"result": result}

    async def _pay(self, request: web.Request) -> dict:
        self._authorized(request)
        body = _object(request[BODY])
        tx_id, card_id, otp = body.get("transactionId"), body.get("cardId"), body.get("otp")
        if not isinstance(tx_id, str) or not isinstance(card_id, str) or not card_id:
            raise _Reject("validation_error", "transactionId and cardId are required")
        tx = self._transactions.get(tx_id)
        if tx is None or tx.status == "cancelled":
            raise _Reject("transaction_not_available_for_payment")
        if tx.status == "paid":
            raise _Reject("transaction_already_payed")
        card = self._cards.get(card_id)
        if card is None or (tx.card_id is not None and card_id != tx.card_id):
            raise _Reject("card_not_found")
        if tx.card_id is not None:  # created with the card: the SMS code sent then must come back
            if otp is not None and not isinstance(otp, str):
                raise _Reject("validation_error", "otp: a string is expected")
            if self._clock() - tx.created_at > self.otp_ttl:
                raise _Reject("otp_expired")
            if otp != data.OTP:
                tx.otp_failures += 1
                if tx.otp_failures >= MAX_OTP_FAILURES:
                    tx.status, tx.cancel_time = "cancelled", self._now_text()
                    raise _Reject("too_many_attempts")
                raise _Reject("invalid_otp")
        if card.balance < tx.amount * 100:
            raise _Reject("insufficient_funds")
        self._charge(tx, card)
        return {"result": {"transactionId": tx.id, "cardId": card.card_id, "payedAt": tx.payed_at,
                           "paymentRef": tx.payment_ref, "eposMerchant": "90510020873", "eposTerminal": "92902804"}}

    def _charge(self, tx: _Transaction, card: _Card | None) -> None:
        if card is not None:
            card.balance -= min(card.balance, tx.amount * 100)
        tx.status, tx.payed_at, tx.paid_with = "paid", self._now_text(), card
        tx.payment_ref = str(secrets.randbelow(9 * 10**11) + 10**11)

    def _settle(self, tx: _Transaction, final: str) -> None:
        if final == "paid" and tx.status != "paid":
            self._charge(tx, self._cards.get(tx.card_id or ""))
        elif final == "cancelled" and tx.status != "cancelled":
            if tx.status == "paid" and tx.paid_with is not None:
                tx.paid_with.balance += tx.amount * 100  # reversed: the money goes back
            tx.status, tx.payed_at, tx.cancel_time = "cancelled", None, self._now_text()

    async def _status(self, request: web.Request) -> dict:
        self._authorized(request)
        tx = self._transactions.get(request.query.get("transactionId", ""))
        if tx is None:
            raise _Reject("transaction_not_found")
        shown = tx.status
        if tx.settle is not None:
            tx.status_calls += 1
            after, final = tx.settle
            if tx.status_calls >= after:
                self._settle(tx, final)
                tx.settle, shown = None, tx.status
            elif tx.status == "paid":
                shown = "created"  # paid, but the gateway does not know it yet
        return {"result": {"transactionId": tx.id, "status": shown,
                           "payedAt": tx.payed_at if shown == "paid" else None, "serviceId": tx.service_id,
                           "cancelTime": tx.cancel_time if shown == "cancelled" else None, "amount": tx.amount}}

    async def _all(self, request: web.Request) -> dict:
        self._authorized(request)
        q = request.query
        begin, end = _date_filter(q.get("beginDate"), "beginDate"), _date_filter(q.get("endDate"), "endDate", end=True)
        rows = [{"id": tx.id, "userId": tx.user_id,
                 "cardNumber": mask_pan(tx.paid_with.number) if tx.paid_with else None,
                 "owner": data.CARD_OWNER if tx.paid_with else None, "amount": tx.amount, "date": tx.payed_at,
                 "serviceId": tx.service_id}
                for tx in self._transactions.values() if tx.status == "paid"] + [dict(row) for row in self._outside]
        rows = [row for row in rows
                if (not q.get("userId") or row["userId"] == q["userId"])
                and (not q.get("serviceId") or row["serviceId"] == q["serviceId"])
                and (begin is None or row["date"] >= begin) and (end is None or row["date"] <= end)]
        rows.sort(key=lambda row: row["date"], reverse=True)
        return {"result": {"totalTransaction": len(rows), "transactions": rows, "error": None}}

    # ---- card vault ------------------------------------------------------------------------------------------------

    async def _card_create(self, request: web.Request) -> dict:
        self._authorized(request)
        body = _object(request[BODY])
        user_id = _optional_id(body.get("userId"), "userId")
        number, expire, phone = body.get("cardNumber"), body.get("expireDate"), body.get("phoneNumber")
        if user_id is None or not isinstance(number, str) or not isinstance(expire, str):
            raise _Reject("validation_error", "userId, cardNumber and expireDate are required")
        if phone is not None and not (isinstance(phone, str) and re.fullmatch(r"\+?\d{9,15}", phone)):
            raise _Reject("validation_error", "phoneNumber: +998XXXXXXXXX is expected")
        scenario = data.TEST_CARDS.get(number)
        if scenario is not None:
            outcome, balance = scenario
            if expire != data.TEST_EXPIRY:
                raise _Reject("invalid_card")
            if outcome == "slow":  # the seed's card that makes the processing centre hang, then fail
                try:
                    await asyncio.wait_for(self._released.wait(), self.slow_delay)
                except TimeoutError:
                    pass
                raise _Reject("processing_error")
            if outcome != "ok":
                raise _Reject(outcome)
        else:
            if not (len(number) == 16 and number.isdigit() and luhn(number)):
                raise _Reject("pan_not_valid")
            if not number.startswith(data.SUPPORTED_PREFIXES):
                raise _Reject("card_is_not_supported")
            self._check_expiry(expire)
            balance = data.DEFAULT_BALANCE
        card = _Card(user_id, str(uuid.uuid4()), number, expire, phone or DEFAULT_PHONE, balance)
        for cid, pending in list(self._pending.items()):  # a new code replaces the one sent before
            if (pending.card.user_id, pending.card.number) == (user_id, number):
                del self._pending[cid]
                self._superseded.add(cid)
        cid = str(uuid.uuid4())
        self._pending[cid] = _Pending(card, self._clock())
        return {"result": {"cid": cid, "otpSentPhone": _mask_phone(card.phone)}}

    def _check_expiry(self, expire: str) -> None:
        if not re.fullmatch(r"\d{2}(0[1-9]|1[0-2])", expire):
            raise _Reject("invalid_card")
        now = self._now()
        if (2000 + int(expire[:2]), int(expire[2:])) < (now.year, now.month):
            raise _Reject("card_expired")

    async def _card_confirm(self, request: web.Request) -> dict:
        self._authorized(request)
        body = _object(request[BODY])
        cid, otp, name = body.get("cardId"), body.get("otp"), body.get("cardName") or ""
        if not isinstance(cid, str) or not isinstance(otp, str) or not isinstance(name, str):
            raise _Reject("validation_error", "cardId and otp are required strings")
        if cid in self._activated:
            raise _Reject("card_is_already_activated")
        if cid in self._superseded:
            raise _Reject("otp_expired")
        pending = self._pending.get(cid)
        if pending is None:
            raise _Reject("card_not_found")
        if self._clock() - pending.sent_at > self.otp_ttl:
            raise _Reject("otp_expired")
        if otp != data.OTP:
            pending.failures += 1
            if pending.failures >= MAX_OTP_FAILURES:
                del self._pending[cid]
                self._superseded.add(cid)
                raise _Reject("too_many_attempts")
            raise _Reject("invalid_otp")
        del self._pending[cid]
        card = pending.card
        card.name = name
        self._activated[cid] = card.card_id
        self._cards[card.card_id] = card
        return {"result": {"card": _card_json(card)}}

    async def _card_list(self, request: web.Request) -> dict:
        self._authorized(request)
        user_id = request.query.get("userId")
        if not user_id:
            raise _Reject("validation_error", "userId is required")
        return {"result": {"cards": [_card_json(c) for c in self._cards.values() if c.user_id == user_id]}}

    async def _card_get(self, request: web.Request) -> dict:
        self._authorized(request)
        card = self._cards.get(request.match_info["card_id"])
        if card is None:
            raise _Reject("card_not_found")
        return {"result": {"card": _card_json(card, nested_status=True)}}

    async def _card_delete(self, request: web.Request) -> dict:
        self._authorized(request)
        if self._cards.pop(request.query.get("userCardId", ""), None) is None:
            raise _Reject("card_not_found")
        return {"result": True}


# ---- pure helpers ----------------------------------------------------------------------------------------------------


def _matches(path: str, suffix: str) -> bool:
    """Whole path segments only: "pay/" matches "/servicePayment/pay/", never ".../prepay/"."""
    wanted = "/" + suffix.strip("/")
    path = "/" + path.strip("/")
    if path.endswith(wanted):
        return True
    parent = path.rsplit("/", 1)[0]
    return any((parent + "/") == prefix for prefix in _DYNAMIC_PREFIXES) and parent.endswith(wanted)


async def _read_json(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    try:
        return await request.json()
    except ValueError:
        return None


def _dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def _error(reject: _Reject, *, wrapped: bool = True) -> dict:
    error = {"code": reject.code, "message": reject.message}
    return {"result": None, "error": error} if wrapped else {"error": error}


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise _Reject("validation_error", "a JSON object body is expected")
    return body


def _optional_id(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Reject("validation_error", f"{name}: a string is expected")
    return str(value)


def _service(service_id: Any) -> dict:
    service = next((s for s in data.SERVICES if s["service_id"] == service_id), None)
    if service is None:
        raise _Reject("service_not_available")
    return service


def _account(service: dict, account: Any) -> dict[str, str]:
    """The account checked against the service's fields, as the provider would; extra keys are dropped."""
    if not isinstance(account, dict):
        raise _Reject("validation_error", "account: an object is expected")
    checked: dict[str, str] = {}
    for f in data.FIELDS[service["service_id"]]:
        value = account.get(f["name"])
        if value is None or value == "":
            if f["required"]:
                raise _Reject("field_not_valid", f"{MESSAGES['field_not_valid']}: {f['name']}")
            continue
        if not isinstance(value, str) or not _field_accepts(f, value, checked):
            raise _Reject("field_not_valid", f"{MESSAGES['field_not_valid']}: {f['name']}")
        checked[f["name"]] = value
    return checked


def _field_accepts(f: dict, value: str, earlier: dict[str, str]) -> bool:
    if f["type"] == "select":
        parent = f.get("dependency_of")
        return any(v["value"] == value and (parent is None or v["filter"] == earlier.get(parent))
                   for v in f["values"])
    if f["content"] == "number" and not value.isdigit():
        return False
    if f["length"] and len(value) != f["length"]:
        return False
    return not f["validation"] or re.fullmatch(f["validation"], value) is not None


def _holder(service: dict, account: dict[str, str]) -> tuple[str, str, str] | None:
    """The test account's holder for services that can look one up; an unknown account is refused."""
    if not service["has_info_method"]:
        return None
    key = tuple((f["name"], account.get(f["name"], "")) for f in data.FIELDS[service["service_id"]])
    found = data.ACCOUNTS.get((service["service_id"], key))
    if found is None:
        raise _Reject("account_not_found")
    return found


def _echo(service: dict, account: dict[str, str]) -> list[dict]:
    """The account fields as info/create echo them: a select shows its option's title."""
    items = []
    for f in data.FIELDS[service["service_id"]]:
        if f["name"] not in account:
            continue
        value = account[f["name"]]
        if f["type"] == "select":
            value = next(v["title"] for v in f["values"] if v["value"] == value)
        items.append({"name": f["name"], "value": value, "title": f["title"]})
    return items


def _masked(card: dict) -> dict:
    return {**card, "number": mask_pan(card["number"])}


def _card_json(card: _Card, *, nested_status: bool = False) -> dict:
    status = {"sms_info": True, "is_active": True, "status_message": "Карта активна"}
    uzcard = card.number.startswith("8600")
    return {"userId": card.user_id, "cardId": card.card_id, "owner": data.CARD_OWNER, "cardName": card.name,
            "number": mask_pan(card.number), "balance": card.balance, "expireDate": card.expire,
            "bankId": card.number[4:6], "vendor": "UZCARD" if uzcard else "HUMO",
            "processing": "uzcard" if uzcard else "humo",
            "status": {"result": status} if nested_status else status}


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _mask_phone(phone: str) -> str:
    digits = _digits(phone)
    return "*" * (len(digits) - 4) + digits[-4:]




def _provider_time(moment: datetime) -> str:
    """Naive datetimes are taken as Tashkent wall time; aware ones are converted to it."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(TASHKENT)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _date_filter(text: str | None, name: str, *, end: bool = False) -> str | None:
    """`YYYY-MM-DD` (the whole day) or `YYYY-MM-DD HH:MM:SS`, as text comparable with the rows' dates."""
    if not text:
        return None
    for pattern, whole_day in (("%Y-%m-%d %H:%M:%S", False), ("%Y-%m-%d", True)):
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if whole_day and end:
            moment = moment.replace(hour=23, minute=59, second=59)
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    raise _Reject("validation_error", f"{name}: YYYY-MM-DD or YYYY-MM-DD HH:MM:SS is expected")
