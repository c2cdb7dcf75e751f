"""Payment states and the only moves between them. The service records every move with its time.

Decision on an expired SMS code: a new servicePayment/create is a new provider transaction on the SAME payment
row (created -> created), because the old transaction was never charged and the user is still paying the same bill.
The row keeps the newest transaction id; the event log keeps the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PaymentState(StrEnum):
    draft = "draft"  # our row exists; no provider call yet
    created = "created"  # the provider holds a transaction and sent an SMS code
    paying = "paying"  # pay was sent; its answer not yet recorded
    paid = "paid"
    failed = "failed"  # nothing was charged
    unknown = "unknown"  # pay may or may not have happened: only transaction/status decides
    # The Payme rail (a card saved at Payme): the user's card is charged by a Payme receipt, and the bill is then
    # paid through Paylov with the merchant's settlement card.
    charging = "charging"  # receipts.pay was sent; its answer not yet recorded
    charged = "charged"  # the receipt is paid (state 4); the bill is not yet paid at Paylov
    settling = "settling"  # Paylov's pay for the bill was sent; transaction/status decides
    refunding = "refunding"  # the bill could not be paid: receipts.cancel was sent (state 21)
    refunded = "refunded"  # the receipt is cancelled (state 50): the money went back to the card


_S = PaymentState
# Beyond the obvious forward moves:
# created -> created: an expired code starts a new transaction on the same payment (the old one was not charged).
# paying -> created: pay was refused in a way that leaves the transaction payable (a wrong code, an expired code
#                    before re-create) or never reached the provider (connect failed).
# unknown -> created: transaction/status says the transaction is still only `created`: nothing was charged.
# Never: created -> paid (only a pay call or a status check after one proves payment), anything out of paid/failed.
#
# The Payme rail: draft -> charging -> charged -> settling -> paid, where
# charging -> unknown: receipts.pay got no answer; receipts.check decides (unknown -> charged or failed).
# settling -> charged: Paylov's pay never arrived (connect failed): the bill may be paid again.
# charged/settling -> refunding -> refunded: the bill cannot be paid, so the charge is cancelled.
# Never: a charged payment -> failed (money left the card: it ends paid or refunded).
TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    _S.draft: frozenset({_S.created, _S.failed, _S.charging}),
    _S.created: frozenset({_S.created, _S.paying, _S.failed}),
    _S.paying: frozenset({_S.paid, _S.failed, _S.unknown, _S.created}),
    _S.unknown: frozenset({_S.paid, _S.failed, _S.created, _S.charged}),
    _S.charging: frozenset({_S.charged, _S.failed, _S.unknown}),
    _S.charged: frozenset({_S.settling, _S.refunding}),
    _S.settling: frozenset({_S.paid, _S.charged, _S.refunding}),
    _S.refunding: frozenset({_S.refunded}),
    _S.paid: frozenset(),
    _S.failed: frozenset(),
    _S.refunded: frozenset(),
}


class InvalidTransition(ValueError):
    def __init__(self, old: PaymentState, new: PaymentState) -> None:
        super().__init__(f"{PaymentState(old).value} -> {PaymentState(new).value}")
        self.code = "invalid_transition"
        self.old = PaymentState(old)
        self.new = PaymentState(new)


def check_transition(old: PaymentState | str, new: PaymentState | str) -> None:
    """Accepts the enum or its stored string value."""
    if PaymentState(new) not in TRANSITIONS[PaymentState(old)]:
        raise InvalidTransition(PaymentState(old), PaymentState(new))


def is_final(state: PaymentState | str) -> bool:
    return not TRANSITIONS[PaymentState(state)]


MAX_OTP_TRIES = 3  # seed 001 and the regulator: three wrong codes in a row lock further tries


@dataclass(frozen=True)
class OtpAttempts:
    """Wrong codes typed in a row. Immutable: `failed()` returns the next count, to be stored by the caller."""

    failures: int = 0
    limit: int = MAX_OTP_TRIES

    def failed(self) -> OtpAttempts:
        return OtpAttempts(min(self.failures + 1, self.limit), self.limit)

    @property
    def left(self) -> int:
        return max(self.limit - self.failures, 0)

    @property
    def exhausted(self) -> bool:
        return self.left == 0
