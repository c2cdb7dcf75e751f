"""Payme Subscribe client: card tokens and receipts over JSON-RPC (seeds 000, 001, providers.md).

Shaped like `paylov.py`: every method goes through one `_call` that posts the JSON-RPC body to the base URL, checks
the envelope and returns `result`; each method validates it into a model from `payme_models`. Failures map onto
`bot.providers.errors` by what the caller may conclude. Amounts are tiyin ints.
Nothing here logs a body, a card number, an expiry, a code or a token: only the RPC method, status and duration.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Any

import httpx

from bot.providers.answers import bad_answer, parse_answer, short_pause, throttled
from bot.providers.errors import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.providers.payme_models import (
    FINAL_STATES,
    AccountItem,
    Card,
    Receipt,
    ReceiptCard,
    ReceiptState,
    VerifyCode,
)

__all__ = ["FINAL_STATES", "GET_ALL_MAX", "AccountItem", "Card", "PaymeClient", "PaymeRejected", "Receipt",
           "ReceiptCard", "ReceiptState", "VerifyCode"]

logger = logging.getLogger(__name__)

# Front-end methods, meant to be callable from the payer's browser: they carry only the merchant id.
# Everything else (cards.check, cards.remove, receipts.*) needs "<merchant id>:<key>".
_ID_ONLY = frozenset({"cards.create", "cards.get_verify_code", "cards.verify"})
GET_ALL_MAX = 50  # receipts.get_all `count` limit (seed 000)
# Which locale fills ProviderRejected.message when Payme answers a {"ru", "uz", "en"} message; all are kept.
_MESSAGE_LOCALES = ("ru", "uz", "en")

# The request never left: nothing happened at the provider.
_NEVER_ARRIVED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# The connection broke after sending began: the outcome is unknown, but an idempotent read may be sent again.
# Timeouts are not resent: the user has already waited the whole read timeout.
_DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


class PaymeRejected(ProviderRejected):
    """Payme's JSON-RPC error: `code` is the negative number as a string ("-31303"); `message` one text, and
    `messages` every locale the provider sent ({"ru": ..., "uz": ..., "en": ...}), so a handler can pick the user's.
    """

    def __init__(self, code: str, message: str = "", messages: dict[str, str] | None = None) -> None:
        super().__init__(code, message)
        self.messages = messages or {}


class PaymeClient:
    """One instance per bot over the shared `httpx.AsyncClient`; its owner closes that client."""

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, merchant_id: str, key: str) -> None:
        self._http = http
        self._url = base_url.rstrip("/")  # one endpoint: the method travels in the body
        self._id_auth = merchant_id
        self._key_auth = f"{merchant_id}:{key}"
        self._ids = itertools.count(1)

    # ---- cards -------------------------------------------------------------------------------------------------

    async def cards_create(self, number: str, expire_mmyy: str, save: bool = True) -> Card:
        """An unverified token; `save=False` makes a one-time token. Not resent: each call makes a new token."""
        params = {"card": {"number": number.replace(" ", ""), "expire": expire_mmyy.replace("/", "")}, "save": save}
        return _parse(Card, _get(await self._call("cards.create", params), "card", "cards.create"), "cards.create")

    async def cards_get_verify_code(self, token: str) -> VerifyCode:
        """Payme texts a code to the card's phone; not resent (each call sends an SMS)."""
        result = await self._call("cards.get_verify_code", {"token": token})
        return _parse(VerifyCode, result, "cards.get_verify_code")

    async def cards_verify(self, token: str, code: str) -> Card:
        """Keep the token from this answer (providers.md), not the one cards.create gave."""
        result = await self._call("cards.verify", {"token": token, "code": code})
        return _parse(Card, _get(result, "card", "cards.verify"), "cards.verify")

    async def cards_check(self, token: str) -> Card:
        result = await self._call("cards.check", {"token": token}, idempotent=True)
        return _parse(Card, _get(result, "card", "cards.check"), "cards.check")

    async def cards_remove(self, token: str) -> bool:
        """Not resent: a second remove would answer "token not found" for a token the first one removed."""
        result = await self._call("cards.remove", {"token": token})
        return bool(_get(result, "success", "cards.remove"))

    # ---- receipts ----------------------------------------------------------------------------------------------

    async def receipts_create(
        self,
        amount_tiyin: int,
        account: dict[str, Any],
        description: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Receipt:
        """A receipt in state 0. Not resent: a second create is a second receipt."""
        _require_tiyin(amount_tiyin)
        params: dict[str, Any] = {"amount": amount_tiyin, "account": account}
        if description is not None:
            params["description"] = description
        if detail is not None:
            params["detail"] = detail
        return await self._receipt("receipts.create", params)

    async def receipts_pay(self, receipt_id: str, token: str, phone: str | None = None) -> Receipt:
        """Charges the card. Never resent: on ProviderOutcomeUnknown ask `receipts_check`."""
        params: dict[str, Any] = {"id": receipt_id, "token": token}
        if phone:
            params["payer"] = {"phone": phone}
        return await self._receipt("receipts.pay", params)

    async def receipts_send(self, receipt_id: str, phone: str) -> bool:
        """Texts the receipt to `phone` for payment there; not resent (each call sends an SMS)."""
        result = await self._call("receipts.send", {"id": receipt_id, "phone": phone})
        return bool(_get(result, "success", "receipts.send"))

    async def receipts_cancel(self, receipt_id: str) -> Receipt:
        """A paid receipt is queued for cancellation (state 21), an unpaid one is cancelled (50)."""
        return await self._receipt("receipts.cancel", {"id": receipt_id})

    async def receipts_check(self, receipt_id: str) -> int:
        """The receipt's state (see `ReceiptState`; 4 and 50 are final)."""
        result = await self._call("receipts.check", {"id": receipt_id}, idempotent=True)
        return _parse(int, _get(result, "state", "receipts.check"), "receipts.check")

    async def receipts_get(self, receipt_id: str) -> Receipt:
        return await self._receipt("receipts.get", {"id": receipt_id}, idempotent=True)

    async def receipts_get_all(self, count: int, from_ms: int, to_ms: int, offset: int = 0) -> list[Receipt]:
        """Receipts created between `from_ms` and `to_ms` (ms since the epoch), at most 50 a page."""
        for name, value in (("count", count), ("from_ms", from_ms), ("to_ms", to_ms), ("offset", offset)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"receipts_get_all {name} must be an int, got {type(value).__name__}")
        if not 1 <= count <= GET_ALL_MAX:
            raise ValueError(f"receipts_get_all count must be 1..{GET_ALL_MAX}, got {count}")
        if offset < 0:
            raise ValueError(f"receipts_get_all offset must be >= 0, got {offset}")
        params = {"count": count, "from": from_ms, "to": to_ms, "offset": offset}
        result = await self._call("receipts.get_all", params, idempotent=True)
        return _parse(list[Receipt], result, "receipts.get_all")

    async def _receipt(self, method: str, params: dict[str, Any], *, idempotent: bool = False) -> Receipt:
        result = await self._call(method, params, idempotent=idempotent)
        return _parse(Receipt, _get(result, "receipt", method), method)

    # ---- the one call ------------------------------------------------------------------------------------------

    async def _call(self, method: str, params: dict[str, Any], *, idempotent: bool = False) -> Any:
        """Posts one JSON-RPC request and returns its `result`.

        Each attempt gets a fresh, increasing id. Only an `idempotent` read is sent again, once, when the connection
        drops or the provider answers 5xx; anything else without an answer is ProviderOutcomeUnknown.
        """
        headers = {"X-Auth": self._id_auth if method in _ID_ONLY else self._key_auth}
        attempts = 2 if idempotent else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            request_id = next(self._ids)
            body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            try:
                response = await self._send(method, json=body, headers=headers)
            except _NEVER_ARRIVED as exc:
                raise ProviderUnavailable(f"payme {method}: {type(exc).__name__}") from exc
            except _DROPPED as exc:
                if last:
                    raise ProviderOutcomeUnknown(f"payme {method}: {type(exc).__name__}") from exc
                logger.info("payme %s: %s; resending the idempotent call", method, type(exc).__name__)
                continue
            except httpx.TransportError as exc:  # read/write timeout and anything else after sending
                raise ProviderOutcomeUnknown(f"payme {method}: {type(exc).__name__}") from exc
            if response.status_code == 429:
                pause = short_pause(response, retry=idempotent and not last)
                if pause is None:
                    raise throttled(f"payme {method}", response)
                await asyncio.sleep(pause)
                continue
            if response.status_code < 500:
                return _result(response, method, request_id)
            if last:
                raise ProviderOutcomeUnknown(f"payme {method} answered {response.status_code}")
            logger.info("payme %s answered %s; resending the idempotent call", method, response.status_code)
        raise AssertionError("unreachable")

    async def _send(self, method: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = await self._http.post(self._url, **kwargs)
        logger.debug("payme %s -> %s in %.0f ms", method, response.status_code, (time.perf_counter() - started) * 1000)
        return response


# ---- envelope ------------------------------------------------------------------------------------------------------


def _result(response: httpx.Response, method: str, request_id: int) -> Any:
    """`{"result": ...}` -> result; `{"error": {"code": -31303, "message": ...}}` (Payme answers these with 200)
    -> PaymeRejected; a plain 4xx -> ProviderRejected("http_<status>")."""
    payload = _json(response)
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and error.get("code") is not None:
        raise _rejection(error)
    if response.status_code >= 300 or error:
        raise ProviderRejected(f"http_{response.status_code}", "")
    if not isinstance(payload, dict) or "result" not in payload:
        raise _bad_answer(method, "no result")  # for pay it may well have happened
    answered_id = payload.get("id")
    if answered_id is not None and str(answered_id) != str(request_id):  # seed 000's examples omit it
        raise _bad_answer(method, "an answer to another request id")
    return payload["result"]


def _rejection(error: dict[str, Any]) -> PaymeRejected:
    raw = error.get("message")
    if isinstance(raw, dict):
        messages = {str(lang): str(text) for lang, text in raw.items() if text}
        chosen = next((messages[lang] for lang in _MESSAGE_LOCALES if lang in messages), "")
        message = chosen or next(iter(messages.values()), "")
    else:
        messages, message = {}, str(raw or "")
    return PaymeRejected(str(error["code"]), message, messages)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _get(result: Any, key: str, method: str) -> Any:
    if isinstance(result, dict) and key in result:
        return result[key]
    raise _bad_answer(method, f"no result.{key}")


def _parse(model: Any, data: Any, method: str) -> Any:
    return parse_answer(model, data, provider="payme", call=method)


def _bad_answer(method: str, what: str) -> ProviderOutcomeUnknown:
    return bad_answer("payme", method, what)


def _require_tiyin(amount: object) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"Payme amounts are tiyin (int), got {type(amount).__name__}")
