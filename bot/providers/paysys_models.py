"""PaySys cash2card answers as typed models (seed 004, providers.md "PaySys cash2card").

Attribute names are the provider's words. Extra keys are ignored, so a new provider field never breaks us; a missing
or mistyped one fails validation, and the client turns that into "outcome unknown". Amounts are tiyin ints; the
commission is a percent kept as a Decimal (the client reads JSON numbers with `parse_float=Decimal`), never a float.
Dates are Unix seconds as PaySys sends them; `*_at` properties give them as aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class PayoutStatus(IntEnum):
    """Seed 004 and providers.md. An undocumented status fails validation on purpose: an unknown answer is never
    read as a known one (the caller keeps checking and never starts a new payout on it)."""

    ERROR = -1
    CREATED = 0  # prepared; after a confirm also "in progress" until it completes
    COMPLETED = 1  # the statement's text calls it "pending": read it as completed, and keep re-checking a while
    CANCELLED = 2
    REVERSED = 3  # may follow COMPLETED: the money came back to our deposit


# COMPLETED is not among them: a completed payout may still be reversed (3), so it is re-checked for a while.
FINAL_STATUSES = frozenset({PayoutStatus.ERROR, PayoutStatus.CANCELLED, PayoutStatus.REVERSED})


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Sender(_Model):
    """The operator, sender of every payout (PAYSYS_SENDER_*). `middle_name` may be empty."""

    last_name: str = Field(min_length=1)
    first_name: str = Field(min_length=1)
    middle_name: str = ""


class PassportDoc(_Model):
    """Seed 004's `doc` block, mandatory from 50 base calculation values and forbidden below. providers.md advises
    keeping payouts below that line so no passport data is ever collected; it is here so the API is complete."""

    nationality: str  # ISO 3166-1 numeric, "860"
    type: str = "passport"
    series_number: str = Field(alias="seriesNumber", repr=False)
    birth_date: str = Field(alias="birthDate", repr=False)  # DD.MM.YYYY
    valid_to: str = Field(alias="validTo", repr=False)  # DD.MM.YYYY
    mrz: str | None = Field(default=None, repr=False)  # PINFL, if any


class Prepared(_Model):
    """`cash2card.prepare_remittance`: a payout in status 0, nothing debited yet. Keep `total` as returned."""

    transaction_id: StrictInt
    partner_transaction_id: StrictInt
    masked_phone_number: str
    recipient_card: str  # masked: 860031******2112
    recipient_name: str
    amount: StrictInt  # tiyin
    commission: Decimal  # percent: Decimal("0.5")
    total: StrictInt  # tiyin debited from our deposit at confirm


class Confirmed(_Model):
    """`cash2card.confirm_remittance`: 1 completed, 0 still in progress (check later), -1 failed (nothing sent)."""

    transaction_id: StrictInt
    status: PayoutStatus
    date: StrictInt  # the payout's creation, Unix seconds

    @property
    def created_at(self) -> datetime:
        return _moment(self.date)


class Checked(_Model):
    """`cash2card.check_remittance`, by our partner_transaction_id."""

    status: PayoutStatus
    transaction_id: StrictInt
    card_number: str  # masked
    amount: StrictInt  # tiyin


class StatementRow(_Model):
    """One payout of `cash2card.statement`. `recipient_name` is in the seed's field list, not in its example."""

    status: PayoutStatus
    transaction_id: StrictInt
    partner_transaction_id: StrictInt
    recipient_card_number: str  # masked
    recipient_name: str | None = None
    amount: StrictInt  # tiyin
    commission_amount: StrictInt  # tiyin
    date: StrictInt  # creation, Unix seconds

    @property
    def created_at(self) -> datetime:
        return _moment(self.date)
