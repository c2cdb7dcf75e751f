"""Payment states and the only moves between them. Every move is recorded with its time by the service."""

from __future__ import annotations

from enum import StrEnum


class PaymentState(StrEnum):
    draft = "draft"  # our row exists; no provider call yet
    created = "created"  # the provider holds a transaction and sent an SMS code
    paying = "paying"  # pay was sent; its answer not yet recorded
    paid = "paid"
    failed = "failed"  # nothing was charged
    unknown = "unknown"  # pay may or may not have happened: only transaction/status decides


# created -> created: an expired code starts a new transaction on the same payment (the old one was not charged).
# paying -> created: pay was refused in a way that leaves the transaction payable (a wrong code) or never arrived.
# unknown -> created: the status says the transaction is still only created: nothing was charged.
TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    PaymentState.draft: frozenset({PaymentState.created, PaymentState.failed}),
    PaymentState.created: frozenset({PaymentState.created, PaymentState.paying, PaymentState.failed}),
    PaymentState.paying: frozenset({PaymentState.paid, PaymentState.failed, PaymentState.unknown,
                                    PaymentState.created}),
    PaymentState.unknown: frozenset({PaymentState.paid, PaymentState.failed, PaymentState.created}),
    PaymentState.paid: frozenset(),
    PaymentState.failed: frozenset(),
}


class InvalidTransition(ValueError):
    pass


def check_transition(old: PaymentState, new: PaymentState) -> None:
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"{old.value} -> {new.value}")


def is_final(state: PaymentState) -> bool:
    return not TRANSITIONS[state]
