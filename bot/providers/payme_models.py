"""Payme Subscribe answers as typed models (seeds 000/002, providers.md).

Attribute names are the provider's words; aliases are wire keys where Python cannot use them (`_id`). Extra keys
are ignored, so a new provider field never breaks us; a missing or mistyped one fails validation. Amounts are tiyin.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class ReceiptState(IntEnum):
    """providers.md. `Receipt.state` stays a plain int so an undocumented state reaches the caller, not a crash."""

    CREATED = 0
    PROCESSING = 1
    PROCESSING_2 = 2
    PROCESSING_3 = 3
    PAID = 4
    HELD = 5
    HOLD_IN_PROGRESS = 6
    PAUSED = 20
    CANCEL_QUEUED = 21
    CLOSE_QUEUED = 30
    CANCELLED = 50


FINAL_STATES = frozenset({ReceiptState.PAID, ReceiptState.CANCELLED})


class Card(_Model):
    """A card token. `number` is masked by the provider (860006******6311); `expire` as the provider shows it."""

    number: str
    expire: str
    token: str = Field(repr=False)  # a credential: kept out of reprs, hence out of tracebacks and logs
    recurrent: bool
    verify: bool
    type: str | int | None = None  # card kind code; the seed shows "22618"


class VerifyCode(_Model):
    sent: bool
    phone: str  # masked: 99890*****66
    wait: int  # ms before a new code may be asked for


class AccountItem(_Model):
    """One line of a receipt's `account`; `title` and `value` vary in type between methods (see seed 000)."""

    name: str
    title: str | dict[str, str] | None = None
    value: Any = None
    main: bool | None = None


class ReceiptCard(_Model):
    number: str  # masked
    expire: str | None = None


class Epos(_Model):
    merchant_id: str | None = Field(default=None, alias="merchantId")
    terminal_id: str | None = Field(default=None, alias="terminalId")


class Merchant(_Model):
    id: str = Field(alias="_id")
    name: str | None = None
    organization: str | None = None
    epos: Epos | None = None


class Receipt(_Model):
    id: str = Field(alias="_id")
    state: int
    amount: int  # tiyin
    account: list[AccountItem] = []
    create_time: int = 0  # ms since the epoch; 0 = not yet
    pay_time: int = 0
    cancel_time: int = 0
    currency: int | None = None
    commission: int | None = None
    description: str | None = None
    detail: Any = None
    type: int | None = None
    card: ReceiptCard | None = None
    merchant: Merchant | None = None
    error: Any = None
    processing_id: Any = None

    @property
    def paid(self) -> bool:
        return self.state == ReceiptState.PAID

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES
