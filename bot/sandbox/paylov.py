"""Paylov sandbox: a real HTTP server on 127.0.0.1 speaking seed 003 and providers.md — same paths, fields,
envelopes and statuses — with a ledger of every request for tests to read, and faults tests can inject."""

from __future__ import annotations

import asyncio
import base64
import random
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aiohttp import web

from bot.sandbox import paylov_catalogue as data

Mode = Literal["timeout", "drop", "500"]
BODY = web.RequestKey("body", object)


@dataclass(frozen=True)
class LedgerEntry:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    response: Any


@dataclass
class _Card:
    user_id: str
    card_id: str
    number: str
    expire: str
    phone: str
    balance: int  # tiyin
    name: str = ""
    active: bool = False


@dataclass
class _Transaction:
    id: str
    service_id: str
    account: dict[str, str]
    amount: int
    user_id: str | None
    card_id: str | None
    created_at: float
    status: str = "created"
    otp_failures: int = 0
    payed_at: str | None = None
    cancel_time: str | None = None
    payment_ref: str | None = None
    status_calls: int = 0
    settle_after: tuple[int, str] | None = None


@dataclass
class _Fault:
    mode: Mode
    apply: bool


class _Reject(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        self.code, self.message, self.status = code, message, status


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
    "unauthorized": "Требуется авторизация",
}


class PaylovSandbox:
    USERNAME = "sandbox"
    PASSWORD = "sandbox"
    CONSUMER_KEY = "sandbox-key"
    CONSUMER_SECRET = "sandbox-secret"

    def __init__(self, *, clock: Callable[[], float] = time.time, token_ttl: int = 3600, refresh_ttl: int = 604800,
                 otp_ttl: int = 120, slow_delay: float = 10.0) -> None:
        self._clock = clock
        self.token_ttl, self.refresh_ttl, self.otp_ttl, self.slow_delay = token_ttl, refresh_ttl, otp_ttl, slow_delay
        self.base_url = ""
        self.ledger: list[LedgerEntry] = []
        self._access: dict[str, float] = {}
        self._refresh: dict[str, float] = {}
        self._pending: dict[str, tuple[_Card, float]] = {}  # cid -> card waiting for its code
        self._cards: dict[str, _Card] = {}
        self._confirmed: set[str] = set()
        self._transactions: dict[str, _Transaction] = {}
        self._outside: list[dict] = []
        self._faults: dict[str, _Fault] = {}
        self._released = asyncio.Event()
        self._recorded = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(middlewares=[self._record])
        r = app.router
        r.add_post("/merchant/oauth2/token/", self._token)
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
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()  # the free port the OS chose
        self.base_url = f"http://{bound[0]}:{bound[1]}"
        return self.base_url

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- test controls ---------------------------------------------------------------------------------------------

    def calls(self, path_suffix: str) -> list[LedgerEntry]:
        return [entry for entry in self.ledger if entry.path.rstrip("/").endswith(path_suffix.rstrip("/"))]

    async def wait_for_calls(self, path_suffix: str, count: int = 1, timeout: float = 5.0) -> list[LedgerEntry]:
        """Until the ledger holds `count` calls to that endpoint; woken by each request, never polled."""
        async with self._recorded:
            await asyncio.wait_for(
                self._recorded.wait_for(lambda: len(self.calls(path_suffix)) >= count), timeout
            )
        return self.calls(path_suffix)

    def expire_tokens(self) -> None:
        for token in self._access:
            self._access[token] = 0

    def fail_next(self, path_suffix: str, mode: Mode, *, apply: bool = True) -> None:
        self._faults[path_suffix.rstrip("/")] = _Fault(mode, apply)

    def settle_after(self, transaction_id: str, status_calls: int,
                     final: Literal["paid", "cancelled"] = "paid") -> None:
        self._transactions[transaction_id].settle_after = (status_calls, final)

    def add_outside_payment(self, user_id: str, service_id: str, amount: int, date: datetime,
                            card_number_masked: str, owner: str) -> str:
        transaction_id = str(uuid.uuid4())
        self._outside.append({"id": transaction_id, "userId": user_id, "cardNumber": card_number_masked,
                              "owner": owner, "amount": amount, "date": date.strftime("%Y-%m-%d %H:%M:%S"),
                              "serviceId": service_id})
        return transaction_id

    def card_balance(self, user_id: str, card_id: str) -> int:
        card = self._cards[card_id]
        assert card.user_id == user_id
        return card.balance

    def transaction(self, transaction_id: str) -> dict:
        tx = self._transactions[transaction_id]
        return {"status": tx.status, "amount": tx.amount, "account": dict(tx.account), "cardId": tx.card_id}

    # ---- plumbing --------------------------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler) -> web.StreamResponse:
        try:
            body = await request.json() if request.can_read_body else None
        except ValueError:
            body = None
        request[BODY] = body
        fault = self._take_fault(request.path)
        if fault and not fault.apply:
            return await self._fail(request, fault, None)
        try:
            status, payload = 200, await handler(request)
        except _Reject as reject:
            status = reject.status
            payload = {"result": None, "error": {"code": reject.code, "message": reject.message}}
        except web.HTTPException:
            raise
        await self._append(LedgerEntry(request.method, request.path, dict(request.query), body, status, payload))
        if fault:
            return await self._fail(request, fault, payload)
        return web.json_response(payload, status=status)

    async def _append(self, entry: LedgerEntry) -> None:
        async with self._recorded:
            self.ledger.append(entry)
            self._recorded.notify_all()

    def _take_fault(self, path: str) -> _Fault | None:
        for suffix in list(self._faults):
            if path.rstrip("/").endswith(suffix):
                return self._faults.pop(suffix)
        return None

    async def _fail(self, request: web.Request, fault: _Fault, payload: Any) -> web.StreamResponse:
        if payload is None:
            await self._append(LedgerEntry(request.method, request.path, dict(request.query), request[BODY], 599, None))
        if fault.mode == "500":
            return web.json_response({"result": None, "error": {"code": "server_error", "message": "Internal"}},
                                     status=500)
        if fault.mode == "drop":
            request.transport.close()
            raise asyncio.CancelledError
        await self._released.wait()  # held until the client gives up and the sandbox stops
        return web.json_response(payload)

    def _authorized(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not header.startswith("Bearer ") or self._access.get(token, 0) <= self._clock():
            raise _Reject("unauthorized", MESSAGES["unauthorized"], status=401)

    def _now_text(self) -> str:
        return datetime.fromtimestamp(self._clock()).strftime("%Y-%m-%d %H:%M:%S")

    # ---- oauth -----------------------------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> dict:
        expected = "Basic " + base64.b64encode(f"{self.CONSUMER_KEY}:{self.CONSUMER_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            raise _Reject("invalid_client", "Invalid consumer credentials", status=401)
        body = request[BODY] or {}
        grant = body.get("grant_type")
        if grant == "password":
            if (body.get("username"), body.get("password")) != (self.USERNAME, self.PASSWORD):
                raise _Reject("invalid_grant", MESSAGES["invalid_grant"])
        elif grant == "refresh_token":
            token = body.get("refresh_token")
            if self._refresh.pop(token, 0) <= self._clock():
                raise _Reject("invalid_grant", MESSAGES["invalid_grant"])
        else:
            raise _Reject("unsupported_grant_type", "Unsupported grant type")
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._access[access] = self._clock() + self.token_ttl
        self._refresh[refresh] = self._clock() + self.refresh_ttl
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": self.token_ttl, "refresh_expires_in": self.refresh_ttl}

    # ---- catalogue -------------------------------------------------------------------------------------------------

    async def _list(self, request: web.Request) -> dict:
        self._authorized(request)
        return {"result": {"services": [dict(s) for s in data.SERVICES]}}

    async def _fields(self, request: web.Request) -> dict:
        self._authorized(request)
        service = self._service(request.match_info["service_id"])
        return {"result": {"data": [{**service, "fields": data.FIELDS[service["service_id"]],
                                      "response_fields": data.RESPONSE_FIELDS}]}}

    def _service(self, service_id: str) -> dict:
        service = next((s for s in data.SERVICES if s["service_id"] == service_id), None)
        if service is None:
            raise _Reject("service_not_available", MESSAGES["service_not_available"])
        return service

    def _check_account(self, service: dict, account: Any) -> tuple[str, str, str] | None:
        if not isinstance(account, dict):
            raise _Reject("validation_error", MESSAGES["validation_error"])
        values: dict[str, str] = {}
        for f in data.FIELDS[service["service_id"]]:
            value = account.get(f["name"])
            if not isinstance(value, str) or (f["required"] and not value):
                raise _Reject("field_not_valid", f"{MESSAGES['field_not_valid']}: {f['name']}")
            if f["type"] == "select":
                allowed = [v for v in f["values"]
                           if f["dependency_of"] is None or v["filter"] == values.get(f["dependency_of"])]
                if value not in {v["value"] for v in allowed}:
                    raise _Reject("field_not_valid", f"{MESSAGES['field_not_valid']}: {f['name']}")
            else:
                if f["content"] == "number" and not value.isdigit():
                    raise _Reject("field_not_valid", f"{MESSAGES['field_not_valid']}: {f['name']}")
                if f["length"] and len(value) != f["length"]:
                    raise _Reject("field_not_valid", f"{MESSAGES['field_not_valid']}: {f['name']}")
                if f["validation"] and not re.fullmatch(f["validation"], value):
                    raise _Reject("field_not_valid", f"{MESSAGES['field_not_valid']}: {f['name']}")
            values[f["name"]] = value
        if not service["has_info_method"]:
            return None
        key = (service["service_id"], tuple((f["name"], values[f["name"]]) for f in data.FIELDS[service["service_id"]]))
        found = data.ACCOUNTS.get(key)
        if found is None:
            raise _Reject("account_not_found", MESSAGES["account_not_found"])
        return found

    def _info_items(self, service: dict, account: dict[str, str], found: tuple[str, str, str] | None) -> list[dict]:
        items = []
        for f in data.FIELDS[service["service_id"]]:
            value = account[f["name"]]
            if f["type"] == "select":
                value = next(v["title"] for v in f["values"] if v["value"] == value)
            items.append({"name": f["name"], "value": value, "title": f["title"]})
        if found:
            name, address, saldo = found
            items = [
                {"name": "time", "value": self._now_text(), "title": "time"},
                {"name": "fio", "value": name, "title": "fio"},
                {"name": "address", "value": address, "title": "address"},
                {"name": "last_paid_date", "value": "2026-10-08", "title": "last_paid_date"},
                {"name": "last_paid", "value": "50000 UZS", "title": "last_paid"},
                {"name": "saldo", "value": saldo, "title": "balance"},
                *items,
            ]
        return items

    async def _info(self, request: web.Request) -> dict:
        self._authorized(request)
        body = request[BODY] or {}
        service = self._service(body.get("service_id", ""))
        if not service["has_info_method"]:
            raise _Reject("info_not_available", MESSAGES["info_not_available"])
        found = self._check_account(service, body.get("account"))
        return {"result": {"data": self._info_items(service, body["account"], found)}}

    # ---- payments --------------------------------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> dict:
        self._authorized(request)
        body = request[BODY] or {}
        service = self._service(body.get("service_id", ""))
        if not service["is_active"] or not service["payment_available"]:
            raise _Reject("service_not_available", MESSAGES["service_not_available"])
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise _Reject("validation_error", MESSAGES["validation_error"])
        if not service["amount"]["min"] <= amount <= service["amount"]["max"]:
            raise _Reject("invalid_amount", MESSAGES["invalid_amount"])
        found = self._check_account(service, body.get("account"))
        card_id = body.get("cardId")
        if card_id:
            card = self._cards.get(card_id)
            if card is None or not card.active or card.user_id != str(body.get("userId")):
                raise _Reject("card_not_found", MESSAGES["card_not_found"])
            if body.get("phoneNumber") and body["phoneNumber"] != card.phone:
                raise _Reject("phone_not_match", MESSAGES["phone_not_match"])
        tx = _Transaction(str(uuid.uuid4()), service["service_id"], dict(body["account"]), amount,
                          str(body["userId"]) if body.get("userId") is not None else None, card_id, self._clock())
        self._transactions[tx.id] = tx
        result: dict[str, Any] = {"transactionId": tx.id, "data": self._info_items(service, body["account"], found)}
        if card_id:
            result["sms"] = {"otpSentPhone": _mask_phone(self._cards[card_id].phone)}
        return {"result": result}

    async def _pay(self, request: web.Request) -> dict:
        self._authorized(request)
        body = request[BODY] or {}
        tx = self._transactions.get(body.get("transactionId", ""))
        if tx is None or tx.status == "cancelled":
            raise _Reject("transaction_not_available_for_payment", MESSAGES["transaction_not_available_for_payment"])
        if tx.status == "paid":
            raise _Reject("transaction_already_payed", MESSAGES["transaction_already_payed"])
        card = self._cards.get(body.get("cardId", ""))
        if card is None or (tx.card_id and card.card_id != tx.card_id):
            raise _Reject("card_not_found", MESSAGES["card_not_found"])
        if tx.card_id:
            if self._clock() - tx.created_at > self.otp_ttl:
                raise _Reject("otp_expired", MESSAGES["otp_expired"])
            if body.get("otp") != data.OTP:
                tx.otp_failures += 1
                if tx.otp_failures >= 3:
                    tx.status, tx.cancel_time = "cancelled", self._now_text()
                    raise _Reject("too_many_attempts", MESSAGES["too_many_attempts"])
                raise _Reject("invalid_otp", MESSAGES["invalid_otp"])
        if card.balance < tx.amount * 100:
            raise _Reject("insufficient_funds", MESSAGES["insufficient_funds"])
        card.balance -= tx.amount * 100
        tx.status, tx.payed_at = "paid", self._now_text()
        tx.payment_ref = f"{random.randrange(10**11, 10**12)}"
        return {"result": {"transactionId": tx.id, "cardId": card.card_id, "payedAt": tx.payed_at,
                           "paymentRef": tx.payment_ref, "eposMerchant": "90510020873", "eposTerminal": "92902804"}}

    async def _status(self, request: web.Request) -> dict:
        self._authorized(request)
        tx = self._transactions.get(request.query.get("transactionId", ""))
        if tx is None:
            raise _Reject("transaction_not_found", MESSAGES["transaction_not_found"])
        tx.status_calls += 1
        shown = tx.status
        if tx.settle_after:
            after, final = tx.settle_after
            if tx.status_calls >= after:
                shown = final
                tx.status = final
                tx.payed_at = tx.payed_at or (self._now_text() if final == "paid" else None)
            else:
                shown = "created"
        return {"result": {"transactionId": tx.id, "status": shown, "payedAt": tx.payed_at if shown == "paid" else None,
                           "serviceId": tx.service_id, "cancelTime": tx.cancel_time, "amount": tx.amount}}

    async def _all(self, request: web.Request) -> dict:
        self._authorized(request)
        q = request.query
        rows = [{"id": tx.id, "userId": tx.user_id, "cardNumber": _mask_pan(self._cards[tx.card_id].number)
                 if tx.card_id in self._cards else None, "owner": "TEST USER", "amount": tx.amount,
                 "date": tx.payed_at, "serviceId": tx.service_id}
                for tx in self._transactions.values() if tx.status == "paid"] + list(self._outside)
        begin, end = _day(q.get("beginDate")), _day(q.get("endDate"), end=True)
        rows = [row for row in rows
                if (not q.get("userId") or row["userId"] == q["userId"])
                and (not q.get("serviceId") or row["serviceId"] == q["serviceId"])
                and (not begin or row["date"] >= begin) and (not end or row["date"] <= end)]
        rows.sort(key=lambda row: row["date"], reverse=True)
        return {"result": {"totalTransaction": len(rows), "transactions": rows, "error": None}}

    # ---- card vault ------------------------------------------------------------------------------------------------

    async def _card_create(self, request: web.Request) -> dict:
        self._authorized(request)
        body = request[BODY] or {}
        number, expire = str(body.get("cardNumber", "")), str(body.get("expireDate", ""))
        user_id = str(body.get("userId", ""))
        if not user_id:
            raise _Reject("validation_error", MESSAGES["validation_error"])
        outcome, balance = data.TEST_CARDS.get(number, (None, 100_000_000))
        if outcome is None:
            if not (number.isdigit() and len(number) == 16 and _luhn(number)):
                raise _Reject("pan_not_valid", MESSAGES["pan_not_valid"])
            if not number.startswith(("8600", "9860")):
                raise _Reject("card_is_not_supported", MESSAGES["card_is_not_supported"])
        elif expire != data.TEST_EXPIRY:
            raise _Reject("invalid_card", MESSAGES["invalid_card"])
        elif outcome == "slow":
            await asyncio.sleep(self.slow_delay)
            raise _Reject("processing_error", MESSAGES["processing_error"])
        elif outcome != "ok":
            raise _Reject(outcome, MESSAGES[outcome])
        phone = body.get("phoneNumber") or "+998900000000"
        card = _Card(user_id, str(uuid.uuid4()), number, expire, phone, balance)
        cid = secrets.token_hex(8)
        self._pending[cid] = (card, self._clock())
        return {"result": {"cid": cid, "otpSentPhone": _mask_phone(phone)}}

    async def _card_confirm(self, request: web.Request) -> dict:
        self._authorized(request)
        body = request[BODY] or {}
        cid = str(body.get("cardId", ""))
        if cid in {card.card_id for card in self._cards.values()} or cid in self._confirmed:
            raise _Reject("card_is_already_activated", MESSAGES["card_is_already_activated"])
        pending = self._pending.get(cid)
        if pending is None:
            raise _Reject("card_not_found", MESSAGES["card_not_found"])
        card, sent_at = pending
        if self._clock() - sent_at > self.otp_ttl:
            raise _Reject("otp_expired", MESSAGES["otp_expired"])
        if body.get("otp") != data.OTP:
            raise _Reject("invalid_otp", MESSAGES["invalid_otp"])
        del self._pending[cid]
        self._confirmed.add(cid)
        card.active, card.name = True, str(body.get("cardName") or "")
        self._cards[card.card_id] = card
        return {"result": {"card": self._card_json(card)}}

    def _card_json(self, card: _Card, *, nested_status: bool = False) -> dict:
        status = {"sms_info": True, "is_active": card.active, "status_message": "Карта активна"}
        return {"userId": card.user_id, "cardId": card.card_id, "owner": "TEST USER", "cardName": card.name,
                "number": _mask_pan(card.number), "balance": card.balance, "expireDate": card.expire,
                "bankId": "0" + card.number[4:6], "vendor": "UZCARD" if card.number.startswith("8600") else "HUMO",
                "processing": "uzcard" if card.number.startswith("8600") else "humo",
                "status": {"result": status} if nested_status else status}

    async def _card_list(self, request: web.Request) -> dict:
        self._authorized(request)
        user_id = request.query.get("userId", "")
        return {"result": {"cards": [self._card_json(c) for c in self._cards.values() if c.user_id == user_id]}}

    async def _card_get(self, request: web.Request) -> dict:
        self._authorized(request)
        card = self._cards.get(request.match_info["card_id"])
        if card is None:
            raise _Reject("card_not_found", MESSAGES["card_not_found"])
        return {"result": {"card": self._card_json(card, nested_status=True)}}

    async def _card_delete(self, request: web.Request) -> dict:
        self._authorized(request)
        card = self._cards.pop(request.query.get("userCardId", ""), None)
        if card is None:
            raise _Reject("card_not_found", MESSAGES["card_not_found"])
        return {"result": True}


def _mask_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "*" * (len(digits) - 4) + digits[-4:]


def _mask_pan(number: str) -> str:
    return number[:6] + "******" + number[-4:]


def _luhn(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        n = int(char) * (2 if index % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _day(text: str | None, *, end: bool = False) -> str | None:
    if not text:
        return None
    return text if len(text) > 10 else text + (" 23:59:59" if end else " 00:00:00")
