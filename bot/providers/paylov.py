"""Paylov gateway client: OAuth2 token, servicePayment and the userCard vault (seed 003, providers.md).

Shaped like aiogram's `check_response`: every call goes through one `_call` that decodes the envelope, and each
method validates the result into a model from `paylov_models`. Failures map onto `bot.providers.errors` by what the
caller may conclude. Amounts are whole sums here; card balances come back in tiyin.
Nothing here logs a body, a card number, an expiry, a code or a token: only method, path, status and duration.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx

from bot.providers.answers import bad_answer, parse_answer, short_pause, throttled
from bot.providers.errors import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.providers.paylov_models import (
    Card,
    CardOtp,
    Created,
    InfoItem,
    Paid,
    ServiceFields,
    ServiceItem,
    Tx,
    TxStatus,
)

__all__ = ["PaylovClient", "Card", "CardOtp", "Created", "InfoItem", "Paid", "ServiceFields", "ServiceItem", "Tx",
           "TxStatus"]

logger = logging.getLogger(__name__)

# Paths relative to the base URL, in one place: seed 003 and providers.md disagree on some, so they must be easy
# to change.
TOKEN_PATH = "merchant/oauth2/token/"
LIST_PATH = "servicePayment/list/"
FIELDS_PATH = "servicePayment/fields/{service_id}/"
INFO_PATH = "servicePayment/info/"
CREATE_PATH = "servicePayment/create/"
PAY_PATH = "servicePayment/pay/"
STATUS_PATH = "servicePayment/transaction/status/"
TRANSACTIONS_ALL_PATH = "servicePayment/transaction/all/"  # the seed also shows merchant/...; paylov-uz uses this
CARD_CREATE_PATH = "merchant/userCard/createUserCard/"
CARD_CONFIRM_PATH = "merchant/userCard/confirmUserCardCreate/"
CARDS_PATH = "merchant/userCard/getAllUserCards/"
CARD_PATH = "merchant/userCard/getCard/{card_id}/"
CARD_DELETE_PATH = "merchant/userCard/deleteUserCard/"

# The request never left: nothing happened at the provider.
_NEVER_ARRIVED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# The connection broke after sending began: the outcome is unknown, but an idempotent read may be sent again.
# Timeouts are not resent: the user has already waited the whole read timeout.
_DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)

class PaylovClient:
    """One instance per bot over the shared `httpx.AsyncClient`; its owner closes that client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        username: str,
        password: str,
        consumer_key: str,
        consumer_secret: str,
        clock: Callable[[], float] = time.monotonic,
        renew_margin: float = 60,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/"
        self._username, self._password = username, password
        self._basic = httpx.BasicAuth(consumer_key, consumer_secret)
        self._clock = clock
        self._margin = renew_margin
        self._access: str | None = None
        self._access_until = 0.0
        self._refresh: str | None = None
        self._refresh_until = 0.0
        self._lock = asyncio.Lock()

    # ---- servicePayment ----------------------------------------------------------------------------------------

    async def list_services(self) -> list[ServiceItem]:
        result = await self._call("GET", LIST_PATH, params={"available_for_me": "true"}, idempotent=True)
        return _parse(list[ServiceItem], _get(result, "services", LIST_PATH), LIST_PATH)

    async def service_fields(self, service_id: str) -> ServiceFields:
        """The single `data[0]` object: the service, its form fields and the fields its answers may carry."""
        result = await self._call("GET", FIELDS_PATH.format(service_id=service_id), idempotent=True)
        data = _get(result, "data", FIELDS_PATH)
        if not isinstance(data, list) or not data:
            raise _bad_answer(FIELDS_PATH, "no data[0]")
        return _parse(ServiceFields, data[0], FIELDS_PATH)

    async def info(self, service_id: str, account: dict[str, str]) -> list[InfoItem]:
        body = {"service_id": service_id, "account": account}
        result = await self._call("POST", INFO_PATH, json=body, idempotent=True)  # a lookup: no effect
        return _parse(list[InfoItem], _get(result, "data", INFO_PATH), INFO_PATH)

    async def create_payment(
        self,
        service_id: str,
        account: dict[str, str],
        amount: int,
        user_id: str,
        card_id: str | None,
        phone: str | None,
    ) -> Created:
        """Reserves a transaction; with `card_id` Paylov also texts a code to the card's phone."""
        _require_whole_sums(amount)
        body: dict[str, Any] = {"amount": amount, "service_id": service_id, "account": account, "userId": user_id}
        if card_id:
            body["cardId"] = card_id
        if phone:
            body["phoneNumber"] = phone
        result = await self._call("POST", CREATE_PATH, json=body, idempotent=False)
        return _parse(Created, result, CREATE_PATH)

    async def pay(self, transaction_id: str, card_id: str, user_id: str, otp: str | None) -> Paid:
        """Charges the card. Never resent: on ProviderOutcomeUnknown ask `transaction_status`."""
        body: dict[str, Any] = {"transactionId": transaction_id, "cardId": card_id, "userId": user_id}
        if otp:
            body["otp"] = otp
        result = await self._call("POST", PAY_PATH, json=body, idempotent=False)
        return _parse(Paid, result, PAY_PATH)

    async def transaction_status(self, transaction_id: str) -> TxStatus:
        result = await self._call("GET", STATUS_PATH, params={"transactionId": transaction_id}, idempotent=True)
        return _parse(TxStatus, result, STATUS_PATH)

    async def transactions(
        self,
        user_id: str | None = None,
        service_id: str | None = None,
        begin: date | None = None,
        end: date | None = None,
    ) -> list[Tx]:
        """Paid transactions only (the provider's rule), filtered at the provider."""
        wanted = {
            "userId": user_id,
            "serviceId": service_id,
            "beginDate": begin.isoformat() if begin else None,
            "endDate": end.isoformat() if end else None,
        }
        params = {key: value for key, value in wanted.items() if value}
        result = await self._call("GET", TRANSACTIONS_ALL_PATH, params=params, idempotent=True)
        rows = _get(result, "transactions", TRANSACTIONS_ALL_PATH, default=[])
        return _parse(list[Tx], rows, TRANSACTIONS_ALL_PATH)

    # ---- userCard vault ----------------------------------------------------------------------------------------

    async def create_user_card(self, user_id: str, card_number: str, expire_yymm: str, phone: str | None) -> CardOtp:
        """Paylov texts a code to the card's phone; not idempotent (each call sends an SMS)."""
        body = {"userId": user_id, "cardNumber": card_number, "expireDate": expire_yymm}
        if phone:
            body["phoneNumber"] = phone
        result = await self._call("POST", CARD_CREATE_PATH, json=body, idempotent=False)
        return _parse(CardOtp, result, CARD_CREATE_PATH)

    async def confirm_user_card(self, cid: str, otp: str, card_name: str = "") -> Card:
        body = {"cardId": cid, "otp": otp, "cardName": card_name}
        result = await self._call("POST", CARD_CONFIRM_PATH, json=body, idempotent=False)
        return _parse(Card, _get(result, "card", CARD_CONFIRM_PATH), CARD_CONFIRM_PATH)

    async def user_cards(self, user_id: str) -> list[Card]:
        result = await self._call("GET", CARDS_PATH, params={"userId": user_id}, idempotent=True)
        return _parse(list[Card], _get(result, "cards", CARDS_PATH), CARDS_PATH)

    async def get_card(self, card_id: str) -> Card:
        """`status` comes nested under `status.result` here; `Card` flattens it."""
        result = await self._call("GET", CARD_PATH.format(card_id=card_id), idempotent=True)
        return _parse(Card, _get(result, "card", CARD_PATH), CARD_PATH)

    async def delete_user_card(self, card_id: str) -> None:
        """Not retried: a second DELETE would answer card_not_found for a card the first one removed."""
        await self._call("DELETE", CARD_DELETE_PATH, params={"userCardId": card_id}, idempotent=False)

    # ---- the one call ------------------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        idempotent: bool,
    ) -> Any:
        """The envelope's `result`, or a typed error.

        A 401 means the request was refused before anything happened, so it is safe to renew the token once and
        send again once, even for pay. `idempotent` (reads with no effect) also allows one resend after a dropped
        connection or a 5xx: a pooled keep-alive connection the server closed is the usual cause.
        """
        token = await self._token()
        response = await self._exchange(method, path, token, json, params, idempotent)
        if response.status_code == 401:
            token = await self._token(stale=token)
            response = await self._exchange(method, path, token, json, params, idempotent)
        return _result(response, method, path)

    async def _exchange(
        self, method: str, path: str, token: str, json: Any, params: dict[str, str] | None, idempotent: bool
    ) -> httpx.Response:
        attempts = 2 if idempotent else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = await self._send(method, path, json=json, params=params,
                                            headers={"Authorization": f"Bearer {token}"})
            except _NEVER_ARRIVED as exc:
                raise ProviderUnavailable(f"paylov {method} {path}: {type(exc).__name__}") from exc
            except _DROPPED as exc:
                if last:
                    raise ProviderOutcomeUnknown(f"paylov {method} {path}: {type(exc).__name__}") from exc
                logger.info("paylov %s %s: %s; resending the idempotent call", method, path, type(exc).__name__)
                continue
            except httpx.TransportError as exc:  # read/write timeout and anything else after sending
                raise ProviderOutcomeUnknown(f"paylov {method} {path}: {type(exc).__name__}") from exc
            if response.status_code == 429:
                pause = short_pause(response, retry=idempotent and not last)
                if pause is None:
                    raise throttled(f"paylov {method} {path}", response)
                await asyncio.sleep(pause)
                continue
            if response.status_code < 500:
                return response
            if last:
                raise ProviderOutcomeUnknown(f"paylov {method} {path} answered {response.status_code}")
            logger.info("paylov %s %s answered %s; resending the idempotent call", method, path, response.status_code)
        raise AssertionError("unreachable")

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = await self._http.request(method, self._base + path, **kwargs)
        logger.debug("paylov %s %s -> %s in %.0f ms", method, path, response.status_code,
                     (time.perf_counter() - started) * 1000)
        return response

    # ---- token -------------------------------------------------------------------------------------------------

    async def _token(self, *, stale: str | None = None) -> str:
        """The cached access token; a new one near expiry, or when `stale` (just refused with 401) is still cached.

        The lock makes a burst of callers wait for one renewal instead of each asking for its own.
        """
        if stale is None and self._fresh():
            return self._access  # type: ignore[return-value]
        async with self._lock:
            if self._fresh() and self._access != stale:  # renewed by another caller meanwhile
                return self._access  # type: ignore[return-value]
            if self._refresh and self._clock() < self._refresh_until:
                try:
                    return await self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh})
                except ProviderRejected as exc:
                    if exc.code != "invalid_grant":
                        raise
                    self._refresh = None
                    logger.info("paylov refresh grant refused; using the password grant")
            return await self._grant({"grant_type": "password", "username": self._username,
                                      "password": self._password})

    def _fresh(self) -> bool:
        return self._access is not None and self._clock() < self._access_until

    async def _grant(self, body: dict[str, str]) -> str:
        """A token request has no effect at the provider: any failure to get one means the API call was never
        sent, hence ProviderUnavailable (not OutcomeUnknown) for every transport failure or 5xx."""
        started = self._clock()
        try:
            response = await self._send("POST", TOKEN_PATH, json=body, auth=self._basic)
        except httpx.TransportError as exc:
            raise ProviderUnavailable(f"paylov token: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise ProviderUnavailable(f"paylov token answered {response.status_code}")
        payload = _json(response)
        if response.status_code >= 400 or not isinstance(payload, dict) or not payload.get("access_token"):
            raise _token_rejection(response.status_code, payload)
        try:
            expires_in = float(payload.get("expires_in", 3600))
            refresh_expires_in = float(payload.get("refresh_expires_in") or 0)
        except (TypeError, ValueError):
            raise ProviderUnavailable("paylov token: unreadable expires_in") from None
        # Renew `renew_margin` early, but never sooner than half-way: a short-lived token must not be renewed
        # before every call.
        self._access_until = started + expires_in - min(self._margin, expires_in / 2)
        self._refresh = payload.get("refresh_token") or None
        self._refresh_until = started + refresh_expires_in - min(self._margin, refresh_expires_in / 2)
        self._access = str(payload["access_token"])
        return self._access


# ---- envelope ------------------------------------------------------------------------------------------------------


def _result(response: httpx.Response, method: str, path: str) -> Any:
    """`{"result": ..., "error": null}` -> result; a 4xx (or any answer) carrying `error` -> ProviderRejected."""
    payload = _json(response)
    error = payload.get("error") if isinstance(payload, dict) else None
    if response.status_code >= 300 or error:
        if isinstance(error, dict) and error.get("code"):
            raise ProviderRejected(str(error["code"]), str(error.get("message") or ""))
        raise ProviderRejected(f"http_{response.status_code}", "")
    if not isinstance(payload, dict) or "result" not in payload:
        raise _bad_answer(f"{method} {path}", "no result")  # for pay it may well have happened
    return payload["result"]


def _token_rejection(status: int, payload: Any) -> ProviderRejected:
    """Paylov's envelope `{"error": {"code", "message"}}` or plain OAuth2 `{"error", "error_description"}`."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and error.get("code"):
        return ProviderRejected(str(error["code"]), str(error.get("message") or ""))
    if isinstance(error, str) and error:
        return ProviderRejected(error, str(payload.get("error_description") or ""))
    return ProviderRejected(f"http_{status}", "no access_token in the answer")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _get(result: Any, key: str, path: str, *, default: Any = ...) -> Any:
    if isinstance(result, dict) and key in result:
        return result[key]
    if default is not ...:
        return default
    raise _bad_answer(path, f"no result.{key}")


def _parse(model: Any, data: Any, path: str) -> Any:
    return parse_answer(model, data, provider="paylov", call=path)


def _bad_answer(path: str, what: str) -> ProviderOutcomeUnknown:
    return bad_answer("paylov", path, what)


def _require_whole_sums(amount: object) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"Paylov amounts are whole sums (int), got {type(amount).__name__}")
