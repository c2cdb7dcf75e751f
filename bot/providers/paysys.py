"""PaySys cash2card client: payouts from our deposit to any UzCard/HUMO card (seed 004, providers.md).

Shaped like `payme.py`: every method goes through one `_call` that posts the JSON-RPC body `{method, params, id}` to
the gateway URL with a freshly signed `Auth` header, checks the envelope and returns `result`; each method validates
it into a model from `paysys_models`. Failures map onto `bot.providers.errors` by what the caller may conclude:

- `ProviderRejected` (`PaysysRejected`): PaySys answered its error envelope `{"code": <negative>, "message"}`.
  No code list is published, so every code is handled alike and logged by its number only (a message may echo
  what we sent).
- `ProviderUnavailable`: the request never arrived (connect failed): nothing happened.
- `ProviderThrottled` (a `ProviderUnavailable`): HTTP 429 more often, or for longer, than this client waits out.
- `ProviderOutcomeUnknown`: sent, but the answer was lost (read timeout, dropped connection, 5xx, an unreadable
  body): it may have happened. After a prepare, confirm or cancel, ask `check_remittance`; never send it again.

A 429 is a refusal before any work, so every call (confirm too) waits it out and is sent again: at most
`throttle_waits` times, each wait at most `throttle_wait_max` seconds, as `Retry-After` says (seconds or an HTTP date).
Only the reads (`check_remittance`, `statement`) are also sent again once after a dropped connection or a 5xx.
Amounts are tiyin ints. Nothing here logs a body, a card number, a name or a header: only method, status, duration.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time as clock_time, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx

from bot.providers.answers import bad_answer, parse_answer
from bot.providers.errors import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    retry_after_seconds,
)
from bot.providers.paysys_models import (
    FINAL_STATUSES,
    Checked,
    Confirmed,
    PassportDoc,
    PayoutStatus,
    Prepared,
    Sender,
    StatementRow,
)

__all__ = ["FINAL_STATUSES", "MIN_PAYOUT_TIYIN", "Checked", "Confirmed", "PassportDoc", "PaysysClient",
           "PaysysRejected", "PayoutStatus", "Prepared", "Sender", "StatementRow", "paysys_auth", "tashkent_day"]

logger = logging.getLogger(__name__)

PREPARE = "cash2card.prepare_remittance"
CONFIRM = "cash2card.confirm_remittance"
CHECK = "cash2card.check_remittance"
CANCEL = "cash2card.cancel"
STATEMENT = "cash2card.statement"
_READS = frozenset({CHECK, STATEMENT})  # no effect at the provider: one resend after a drop or a 5xx is safe

MIN_PAYOUT_TIYIN = 100_000  # seed 004: "minimum 100 000 tiin"; the provider enforces it, this is for callers
THROTTLE_WAITS = 2  # 429s waited out per call before ProviderThrottled
THROTTLE_WAIT_MAX = 5.0  # seconds: a longer Retry-After is the caller's to schedule
TASHKENT = timezone(timedelta(hours=5))

# The request never left: nothing happened at the provider.
_NEVER_ARRIVED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# The connection broke after sending began: the outcome is unknown, but a read may be sent again.
_DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def paysys_auth(service_id: str, secret_key: str, timestamp_ms: int) -> str:
    """The `Auth` header: `{service_id}-{sha1_hex(secret_key + timestamp_ms)}-{timestamp_ms}` (providers.md),
    UTC milliseconds, lowercase hex. Pure: the caller signs every request with a fresh timestamp."""
    if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, int) or timestamp_ms < 0:
        raise TypeError("timestamp_ms is a non-negative int of milliseconds")
    digest = hashlib.sha1(f"{secret_key}{timestamp_ms}".encode()).hexdigest()
    return f"{service_id}-{digest}-{timestamp_ms}"


def tashkent_day(day: date) -> tuple[int, int]:
    """One statement request: the Tashkent calendar day (UTC+5) from 00:00:00 to 23:59:59, as Unix seconds."""
    start = datetime.combine(day, clock_time(0, 0, 0), TASHKENT)
    return int(start.timestamp()), int(start.timestamp()) + 86_399


class PaysysRejected(ProviderRejected):
    """PaySys's error envelope: `code` is the negative number as a string ("-10007", like Payme's), `number` the
    int itself."""

    def __init__(self, number: int, message: str = "") -> None:
        super().__init__(str(number), message)
        self.number = number


class PaysysClient:
    """One instance per bot over the shared `httpx.AsyncClient`; its owner closes that client.

    `base_url` is the gateway endpoint itself (`https://paysys.uz/gateway`): the method travels in the body.
    `clock` (Unix seconds) stamps the Auth header and reads an HTTP-date Retry-After; `sleep` waits out a 429.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        service_id: str,
        secret_key: str,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        throttle_waits: int = THROTTLE_WAITS,
        throttle_wait_max: float = THROTTLE_WAIT_MAX,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/")
        self._service_id = service_id
        self._secret_key = secret_key
        self._clock = clock
        self._sleep = sleep
        self._throttle_waits = throttle_waits
        self._throttle_wait_max = throttle_wait_max

    def __repr__(self) -> str:  # the secret key stays out of tracebacks
        return f"PaysysClient(base_url={self._url!r}, service_id={self._service_id!r})"

    # ---- the five methods --------------------------------------------------------------------------------------

    async def prepare_remittance(self, partner_transaction_id: int, card_number: str, amount_tiyin: int,
                                 sender: Sender, *, doc: PassportDoc | None = None) -> Prepared:
        """A payout in status 0; nothing is debited until `confirm_remittance`. `partner_transaction_id` is our
        payout id, never reused (PaySys refuses a second prepare with it). Not resent: on ProviderOutcomeUnknown
        ask `check_remittance(partner_transaction_id)`."""
        _require_int("partner_transaction_id", partner_transaction_id)
        _require_int("amount_tiyin", amount_tiyin)
        params: dict[str, Any] = {
            "partner_transaction_id": partner_transaction_id,
            "card_number": card_number.replace(" ", ""),
            "amount": amount_tiyin,
            "sender": sender.model_dump(),
        }
        if doc is not None:
            params["doc"] = doc.model_dump(by_alias=True, exclude_none=True)
        return _parse(Prepared, await self._call(PREPARE, params), PREPARE)

    async def confirm_remittance(self, transaction_id: int) -> Confirmed:
        """Debits `total` from the deposit and sends the payout. Never resent: confirm is not documented as
        idempotent, so on ProviderOutcomeUnknown `check_remittance` decides."""
        _require_int("transaction_id", transaction_id)
        return _parse(Confirmed, await self._call(CONFIRM, {"transaction_id": transaction_id}), CONFIRM)

    async def check_remittance(self, partner_transaction_id: int) -> Checked:
        _require_int("partner_transaction_id", partner_transaction_id)
        result = await self._call(CHECK, {"partner_transaction_id": partner_transaction_id})
        return _parse(Checked, result, CHECK)

    async def cancel(self, transaction_id: int) -> bool:
        """Only a prepared, unconfirmed payout can be cancelled. True: cancelled. Anything else PaySys answers
        (false, another value) is False: not cancelled, check."""
        _require_int("transaction_id", transaction_id)
        return await self._call(CANCEL, {"transaction_id": transaction_id}) is True

    async def statement(self, date_from: int | datetime, date_to: int | datetime) -> list[StatementRow]:
        """Payouts created between the two moments (Unix seconds or aware datetimes), both included. Ask one
        Tashkent day at a time: `statement(*tashkent_day(day))`."""
        params = {"date_from": _seconds("date_from", date_from), "date_to": _seconds("date_to", date_to)}
        return _parse(list[StatementRow], await self._call(STATEMENT, params), STATEMENT)

    # ---- the one call ------------------------------------------------------------------------------------------

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        """Posts one JSON-RPC request and returns its `result`; each attempt is signed afresh with a new id."""
        read = method in _READS
        resent = False
        waits = 0
        while True:
            request_id = str(uuid.uuid4())
            body = {"method": method, "params": params, "id": request_id}
            headers = {"Auth": paysys_auth(self._service_id, self._secret_key, int(self._clock() * 1000))}
            try:
                response = await self._send(method, json=body, headers=headers)
            except _NEVER_ARRIVED as exc:
                raise ProviderUnavailable(f"paysys {method}: {type(exc).__name__}") from exc
            except _DROPPED as exc:
                if not read or resent:
                    raise ProviderOutcomeUnknown(f"paysys {method}: {type(exc).__name__}") from exc
                logger.info("paysys %s: %s; resending the read", method, type(exc).__name__)
                resent = True
                continue
            except httpx.TransportError as exc:  # read/write timeout and anything else after sending
                raise ProviderOutcomeUnknown(f"paysys {method}: {type(exc).__name__}") from exc
            if response.status_code == 429:
                delay = retry_after_seconds(response.headers.get("Retry-After"), now=self._clock())
                if waits >= self._throttle_waits or delay is None or delay > self._throttle_wait_max:
                    raise ProviderThrottled(f"paysys {method} answered 429", delay)
                waits += 1
                logger.info("paysys %s answered 429; waiting %.1f s", method, delay)
                await self._sleep(delay)
                continue
            if response.status_code >= 500:
                if not read or resent:
                    raise ProviderOutcomeUnknown(f"paysys {method} answered {response.status_code}")
                logger.info("paysys %s answered %s; resending the read", method, response.status_code)
                resent = True
                continue
            return _result(response, method, request_id)

    async def _send(self, method: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = await self._http.post(self._url, **kwargs)
        logger.debug("paysys %s -> %s in %.0f ms", method, response.status_code,
                     (time.perf_counter() - started) * 1000)
        return response


# ---- envelope ------------------------------------------------------------------------------------------------------


def _result(response: httpx.Response, method: str, request_id: str) -> Any:
    """`{"id", "error": null, "result"}` -> result; `{"error": {"code": <negative>, "message"}}` -> PaysysRejected,
    whatever the HTTP status below 500 (providers.md: parse the body whatever the status); a 4xx without the
    envelope -> ProviderRejected("http_<status>"); anything unreadable -> ProviderOutcomeUnknown."""
    payload = _json(response)
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), int) and not isinstance(error["code"], bool):
        number = error["code"]
        # By number only: the message may echo what we sent. ("error", not "code": the log's redaction hides a
        # number after "code" as if it were an SMS code.)
        logger.warning("paysys %s refused with error %s", method, number)
        raise PaysysRejected(number, str(error.get("message") or ""))
    if response.status_code >= 300:
        raise ProviderRejected(f"http_{response.status_code}", "")
    if not isinstance(payload, dict) or "result" not in payload or error is not None:
        raise _bad_answer(method, "not the JSON-RPC envelope")  # for a confirm it may well have happened
    answered_id = payload.get("id")
    if answered_id is not None and str(answered_id) != request_id:
        raise _bad_answer(method, "an answer to another request id")
    return payload["result"]


def _json(response: httpx.Response) -> Any:
    """JSON numbers with a fraction become Decimals (the commission percent), never floats."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:  # also UnicodeDecodeError
        return None


def _parse(model: Any, data: Any, method: str) -> Any:
    return parse_answer(model, data, provider="paysys", call=method)


def _bad_answer(method: str, what: str) -> ProviderOutcomeUnknown:
    return bad_answer("paysys", method, what)


def _require_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"PaySys {name} is an int (amounts in tiyin), got {type(value).__name__}")


def _seconds(name: str, value: int | datetime) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"PaySys {name}: a naive datetime is ambiguous; give an aware one or Unix seconds")
        return int(value.timestamp())
    _require_int(name, value)
    return value
