"""Paylov gateway client: OAuth2 token, servicePayment and the userCard vault (seed 003, providers.md).

Amounts are whole sums at this boundary; card balances come back in tiyin. Nothing here logs bodies.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from bot.providers.errors import ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable

logger = logging.getLogger(__name__)

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


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Category(_Model):
    id: int
    name: str


class AmountLimits(_Model):
    min: int
    max: int


class ServiceItem(_Model):
    service_id: str
    name: str
    category: Category
    amount: AmountLimits
    is_active: bool = True
    has_info_method: bool = False
    can_cancel: bool = False
    payment_available: bool = True
    logo: str | None = None


class FieldValue(_Model):
    id: int
    value: str
    title: str
    filter: str | None = None


class FormField(_Model):
    field_id: str | int | None = None
    name: str
    title: str | None = None
    type: str
    content: str | None = "text"
    validation: str | None = None
    length: int | None = None
    required: bool = True
    dependency_of: str | None = None
    values: list[FieldValue] = []


class ResponseField(_Model):
    field_id: str | int | None = None
    name: str
    title: str
    postfix: str | None = None


class ServiceFields(ServiceItem):
    fields: list[FormField]
    response_fields: list[ResponseField] = []


class InfoItem(_Model):
    name: str
    value: Any
    title: str | None = None


class CardOtp(_Model):
    cid: str
    otp_sent_phone: str = Field(alias="otpSentPhone")


class Card(_Model):
    user_id: str | None = Field(default=None, alias="userId")
    card_id: str = Field(alias="cardId")
    owner: str | None = None
    card_name: str | None = Field(default=None, alias="cardName")
    number: str
    balance: int | None = None  # tiyin
    expire_date: str = Field(alias="expireDate")
    bank_id: str | int | None = Field(default=None, alias="bankId")
    vendor: str | None = None
    processing: str | None = None
    status: dict[str, Any] | None = None


class Created(_Model):
    transaction_id: str = Field(alias="transactionId")
    data: list[InfoItem] = []
    otp_sent_phone: str | None = None


class Paid(_Model):
    transaction_id: str = Field(alias="transactionId")
    card_id: str | None = Field(default=None, alias="cardId")
    payed_at: str | None = Field(default=None, alias="payedAt")
    payment_ref: str | None = Field(default=None, alias="paymentRef")
    epos_merchant: str | None = Field(default=None, alias="eposMerchant")
    epos_terminal: str | None = Field(default=None, alias="eposTerminal")


class TxStatus(_Model):
    transaction_id: str = Field(alias="transactionId")
    status: str
    payed_at: str | None = Field(default=None, alias="payedAt")
    service_id: str | None = Field(default=None, alias="serviceId")
    cancel_time: str | None = Field(default=None, alias="cancelTime")
    amount: int | None = None


class Tx(_Model):
    id: str
    user_id: str | None = Field(default=None, alias="userId")
    card_number: str | None = Field(default=None, alias="cardNumber")
    owner: str | None = None
    amount: int
    date: str
    service_id: str | None = Field(default=None, alias="serviceId")


class PaylovClient:
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

    # ---- token -------------------------------------------------------------------------------------------------

    async def _token(self, *, stale: str | None = None) -> str:
        """The cached token; a new one when it nears expiry or when `stale` (refused with 401) is still cached."""
        async with self._lock:
            if self._access and self._access != stale and self._clock() < self._access_until:
                return self._access
            if self._refresh and self._clock() < self._refresh_until:
                try:
                    await self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh})
                    return self._access
                except ProviderRejected:
                    logger.info("paylov refresh grant refused; using the password grant")
            await self._grant({"grant_type": "password", "username": self._username, "password": self._password})
            return self._access

    async def _grant(self, body: dict[str, str]) -> None:
        started = self._clock()
        try:
            response = await self._http.post(self._base + TOKEN_PATH, json=body, auth=self._basic)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ProviderUnavailable("paylov token endpoint unreachable") from exc
        except httpx.HTTPError as exc:
            raise ProviderOutcomeUnknown("paylov token endpoint did not answer") from exc
        payload = _json(response)
        if response.status_code >= 500:
            raise ProviderOutcomeUnknown(f"paylov token endpoint answered {response.status_code}")
        if response.status_code >= 400 or "access_token" not in payload:
            error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
            code = error.get("code") or payload.get("error") or f"http_{response.status_code}"
            raise ProviderRejected(str(code), str(error.get("message") or payload.get("error_description") or ""))
        self._access = payload["access_token"]
        self._access_until = started + float(payload.get("expires_in", 3600)) - self._margin
        self._refresh = payload.get("refresh_token")
        self._refresh_until = started + float(payload.get("refresh_expires_in", 0)) - self._margin

    # ---- the one call --------------------------------------------------------------------------------------------

    async def _call(self, method: str, path: str, *, json: dict | None = None, params: dict | None = None) -> Any:
        token = await self._token()
        response = await self._send(method, path, token, json, params)
        if response.status_code == 401:  # expired or revoked early: renew once, retry once
            token = await self._token(stale=token)
            response = await self._send(method, path, token, json, params)
        payload = _json(response)
        if response.status_code >= 500:
            raise ProviderOutcomeUnknown(f"paylov {path} answered {response.status_code}")
        error = payload.get("error") if isinstance(payload, dict) else None
        if response.status_code >= 400 or error:
            if isinstance(error, dict):
                raise ProviderRejected(str(error.get("code") or f"http_{response.status_code}"),
                                       str(error.get("message") or ""))
            raise ProviderRejected(f"http_{response.status_code}", "")
        return payload.get("result")

    async def _send(self, method, path, token, json, params) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._http.request(
                method, self._base + path, json=json, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ProviderUnavailable(f"paylov {path} unreachable") from exc
        except httpx.HTTPError as exc:  # read timeout, dropped connection: it may have happened
            raise ProviderOutcomeUnknown(f"paylov {path}: {type(exc).__name__}") from exc
        logger.debug("paylov %s %s -> %s in %.0f ms", method, path, response.status_code,
                     (time.perf_counter() - started) * 1000)
        return response

    # ---- servicePayment ------------------------------------------------------------------------------------------

    async def list_services(self) -> list[ServiceItem]:
        result = await self._call("GET", LIST_PATH, params={"available_for_me": "true"})
        return [ServiceItem.model_validate(item) for item in result["services"]]

    async def service_fields(self, service_id: str) -> ServiceFields:
        result = await self._call("GET", FIELDS_PATH.format(service_id=service_id))
        return ServiceFields.model_validate(result["data"][0])

    async def info(self, service_id: str, account: dict[str, str]) -> list[InfoItem]:
        result = await self._call("POST", INFO_PATH, json={"service_id": service_id, "account": account})
        return [InfoItem.model_validate(item) for item in result["data"]]

    async def create_payment(self, service_id: str, account: dict[str, str], amount: int, user_id: str,
                             card_id: str | None, phone: str | None) -> Created:
        _whole_sums(amount)
        body: dict[str, Any] = {"amount": amount, "service_id": service_id, "account": account, "userId": user_id}
        if card_id:
            body["cardId"] = card_id
        if phone:
            body["phoneNumber"] = phone
        result = await self._call("POST", CREATE_PATH, json=body)
        created = Created.model_validate(result)
        sms = result.get("sms") or {}
        return created.model_copy(update={"otp_sent_phone": sms.get("otpSentPhone")})

    async def pay(self, transaction_id: str, card_id: str, user_id: str, otp: str | None) -> Paid:
        body: dict[str, Any] = {"transactionId": transaction_id, "cardId": card_id, "userId": user_id}
        if otp:
            body["otp"] = otp
        return Paid.model_validate(await self._call("POST", PAY_PATH, json=body))

    async def transaction_status(self, transaction_id: str) -> TxStatus:
        result = await self._call("GET", STATUS_PATH, params={"transactionId": transaction_id})
        return TxStatus.model_validate(result)

    async def transactions(self, user_id: str | None = None, service_id: str | None = None,
                           begin: date | None = None, end: date | None = None) -> list[Tx]:
        params = {key: value for key, value in {
            "userId": user_id, "serviceId": service_id,
            "beginDate": begin.isoformat() if begin else None, "endDate": end.isoformat() if end else None,
        }.items() if value}
        result = await self._call("GET", TRANSACTIONS_ALL_PATH, params=params)
        return [Tx.model_validate(item) for item in result.get("transactions", [])]

    # ---- card vault ----------------------------------------------------------------------------------------------

    async def create_user_card(self, user_id: str, card_number: str, expire_yymm: str, phone: str | None) -> CardOtp:
        body = {"userId": user_id, "cardNumber": card_number, "expireDate": expire_yymm}
        if phone:
            body["phoneNumber"] = phone
        return CardOtp.model_validate(await self._call("POST", CARD_CREATE_PATH, json=body))

    async def confirm_user_card(self, cid: str, otp: str, card_name: str = "") -> Card:
        result = await self._call("POST", CARD_CONFIRM_PATH, json={"cardId": cid, "otp": otp, "cardName": card_name})
        return Card.model_validate(result["card"])

    async def user_cards(self, user_id: str) -> list[Card]:
        result = await self._call("GET", CARDS_PATH, params={"userId": user_id})
        return [Card.model_validate(card) for card in result["cards"]]

    async def get_card(self, card_id: str) -> Card:
        result = await self._call("GET", CARD_PATH.format(card_id=card_id))
        card = dict(result["card"])
        status = card.get("status")
        if isinstance(status, dict) and isinstance(status.get("result"), dict):
            card["status"] = status["result"]  # getCard nests the status one level deeper
        return Card.model_validate(card)

    async def delete_user_card(self, card_id: str) -> None:
        await self._call("DELETE", CARD_DELETE_PATH, params={"userCardId": card_id})


def _whole_sums(amount: object) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("Paylov amounts are whole sums (int)")


def _json(response: httpx.Response) -> dict:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
