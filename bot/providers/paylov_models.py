"""Paylov answers as typed models (seed 003, providers.md).

Attribute names are snake_case spellings of the provider's words (`payed_at`, not `paid_at`); aliases are the wire
keys. Extra keys are ignored, so a new provider field never breaks us; a missing or mistyped one fails validation.
Amounts are whole sums; `Card.balance` is tiyin.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


# ---- servicePayment catalogue ----------------------------------------------------------------------------------


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
    can_cancel: bool = False  # unknown -> not reversible: the user is warned before paying
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
    """`servicePayment/fields` answer `data[0]`: the service itself plus its form."""

    fields: list[FormField]
    response_fields: list[ResponseField] = []


class InfoItem(_Model):
    name: str
    value: Any  # the provider mixes strings and numbers
    title: str | None = None


# ---- servicePayment create / pay / status / history ------------------------------------------------------------


class Created(_Model):
    transaction_id: str = Field(alias="transactionId")
    data: list[InfoItem] = []
    otp_sent_phone: str | None = None  # masked; set only when create was sent with a cardId

    @model_validator(mode="before")
    @classmethod
    def _lift_sms(cls, value: Any) -> Any:
        """The wire nests the masked phone as `sms.otpSentPhone`."""
        if isinstance(value, dict) and isinstance(value.get("sms"), dict) and "otp_sent_phone" not in value:
            return {**value, "otp_sent_phone": value["sms"].get("otpSentPhone")}
        return value


class Paid(_Model):
    transaction_id: str = Field(alias="transactionId")
    card_id: str | None = Field(default=None, alias="cardId")
    payed_at: str | None = Field(default=None, alias="payedAt")
    payment_ref: str | None = Field(default=None, alias="paymentRef")
    epos_merchant: str | None = Field(default=None, alias="eposMerchant")
    epos_terminal: str | None = Field(default=None, alias="eposTerminal")


class TxStatus(_Model):
    transaction_id: str = Field(alias="transactionId")
    status: str  # "paid" | "cancelled" | "created"; kept open so an unknown status reaches the caller, not a crash
    payed_at: str | None = Field(default=None, alias="payedAt")
    service_id: str | None = Field(default=None, alias="serviceId")
    cancel_time: str | None = Field(default=None, alias="cancelTime")
    amount: int | None = None


class Tx(_Model):
    id: str
    user_id: str | None = Field(default=None, alias="userId")
    card_number: str | None = Field(default=None, alias="cardNumber")  # masked by the provider
    owner: str | None = None
    amount: int
    date: str
    service_id: str | None = Field(default=None, alias="serviceId")


# ---- userCard vault ----------------------------------------------------------------------------------------------


class CardOtp(_Model):
    cid: str  # temporary id, confirmed with the SMS code
    otp_sent_phone: str = Field(alias="otpSentPhone")


class CardStatus(_Model):
    sms_info: bool | None = None
    is_active: bool | None = None
    status_message: str | None = None


class Card(_Model):
    user_id: str | None = Field(default=None, alias="userId")
    card_id: str = Field(alias="cardId")
    owner: str | None = None
    card_name: str | None = Field(default=None, alias="cardName")
    number: str  # masked: 860000******9999
    balance: int | None = None  # tiyin
    expire_date: str = Field(alias="expireDate")  # YYMM
    bank_id: str | int | None = Field(default=None, alias="bankId")
    vendor: str | None = None
    processing: str | None = None
    status: CardStatus | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten_status(cls, value: Any) -> Any:
        """getCard nests the status one level deeper (`status.result`) than the other card answers."""
        if isinstance(value, dict):
            status = value.get("status")
            if isinstance(status, dict) and isinstance(status.get("result"), dict):
                return {**value, "status": status["result"]}
        return value
