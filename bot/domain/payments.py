"""Payment states, the only moves between them per rail, and which provider answers prove "not charged".

Two rails share one ledger. Paylov: servicePayment charges the user's own card (create sends an SMS code, pay
charges). Payme: a Payme receipt charges the user's card, then servicePayment pays the bill with the merchant's
settlement card; a bill that cannot be paid is refunded by cancelling the receipt. A row never leaves its rail's
table, so a Paylov payment can never reach a Payme state.

Every state that ends in "-ing" is a provider call in flight: the row is claimed (leased) by the process making the
call, and only that process moves it on. A claim whose holder died expires, and the settlement runner then asks the
provider what happened; it never repeats the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PaymentState(StrEnum):
    draft = "draft"  # our row exists; no provider call yet
    creating = "creating"  # servicePayment/create with the user's card is in flight (Paylov rail)
    created = "created"  # the provider holds a transaction and sent an SMS code
    paying = "paying"  # pay was sent; its answer not yet recorded
    paid = "paid"
    failed = "failed"  # nothing was charged
    unknown = "unknown"  # the charge may or may not have happened: only the provider's status decides
    charging = "charging"  # receipts.create and receipts.pay are in flight (Payme rail)
    charged = "charged"  # the receipt is paid (state 4); the bill is not yet paid at Paylov
    settling = "settling"  # Paylov's create/pay for the bill with the settlement card; transaction/status decides
    refunding = "refunding"  # the bill could not be paid: receipts.cancel was sent (state 21)
    refunded = "refunded"  # the receipt is cancelled (state 50): the money went back to the card
    preparing = "preparing"  # cash2card.prepare_remittance is in flight (PaySys payout rail)
    prepared = "prepared"  # PaySys holds the payout (status 0); nothing is sent until we confirm
    confirming = "confirming"  # confirm_remittance is in flight; check_remittance decides a lost answer
    cancelling = "cancelling"  # cash2card.cancel of a prepared payout is in flight
    reversed = "reversed"  # a completed payout came back (status 3): the money is ours again


class Rail(StrEnum):
    paylov = "paylov"
    payme = "payme"
    paysys = "paysys"  # a payout from our deposit to a card (cashback, operator refunds); `paid` = completed


_S = PaymentState
# Paylov: draft -> creating -> created -> paying -> paid, where
# paying -> created: pay was refused in a way that leaves the transaction payable (a wrong code) or never arrived.
# paying -> creating: the code expired; a new transaction on the same payment (the old one was never charged).
# paying -> unknown -> paid | failed: no clear answer; transaction/status decides.
# draft/created -> failed: the user left, or the sweep closed a payment nobody finished.
PAYLOV_TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    _S.draft: frozenset({_S.creating, _S.failed}),
    _S.creating: frozenset({_S.created, _S.failed}),
    _S.created: frozenset({_S.paying, _S.failed}),
    _S.paying: frozenset({_S.paid, _S.failed, _S.unknown, _S.created, _S.creating}),
    _S.unknown: frozenset({_S.paid, _S.failed}),
    _S.paid: frozenset(),
    _S.failed: frozenset(),
}
# Payme: draft -> charging -> charged -> settling -> paid, where
# charging -> unknown -> charged | failed: receipts.pay without a clear answer; the receipt's state decides.
# settling -> charged: Paylov's pay never arrived (connect failure, 429): the bill may be paid later.
# charged/settling -> refunding -> refunded: the bill cannot be paid, so the charge is cancelled.
# Never: a charged payment -> failed (money left the card: it ends paid or refunded).
PAYME_TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    _S.draft: frozenset({_S.charging, _S.failed}),
    _S.charging: frozenset({_S.charged, _S.failed, _S.unknown}),
    _S.unknown: frozenset({_S.charged, _S.failed}),
    _S.charged: frozenset({_S.settling, _S.refunding}),
    _S.settling: frozenset({_S.paid, _S.charged, _S.refunding}),
    _S.refunding: frozenset({_S.refunded}),
    _S.paid: frozenset(),
    _S.failed: frozenset(),
    _S.refunded: frozenset(),
}
# PaySys: draft -> preparing -> prepared -> confirming -> paid, where
# preparing -> unknown: prepare's answer was lost; check_remittance by our id decides (a payout found there is
#   cancelled, never confirmed: the user never saw what it would send).
# prepared -> cancelling -> failed: the user cancelled, or did not confirm in time.
# confirming -> unknown -> paid | failed: no clear answer, or status 0; check_remittance decides.
# confirming/cancelling -> prepared: the call provably never arrived (a connect failure, a 429): the payout is still
#   prepared at PaySys, and may be confirmed or cancelled again.
# paid -> reversed: status 3 after completion (re-checked for a window).
# Never a second payout for one row: a row has one partner_transaction_id for life.
PAYSYS_TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    _S.draft: frozenset({_S.preparing, _S.failed}),
    _S.preparing: frozenset({_S.prepared, _S.failed, _S.unknown}),
    _S.prepared: frozenset({_S.confirming, _S.cancelling}),
    _S.confirming: frozenset({_S.paid, _S.failed, _S.unknown, _S.prepared}),
    _S.cancelling: frozenset({_S.failed, _S.unknown, _S.prepared}),
    _S.unknown: frozenset({_S.paid, _S.failed, _S.cancelling}),
    _S.paid: frozenset({_S.reversed}),
    _S.failed: frozenset(),
    _S.reversed: frozenset(),
}
TRANSITIONS: dict[Rail, dict[PaymentState, frozenset[PaymentState]]] = {
    Rail.paylov: PAYLOV_TRANSITIONS,
    Rail.payme: PAYME_TRANSITIONS,
    Rail.paysys: PAYSYS_TRANSITIONS,
}
# A provider call of this rail is in flight in these states: the row belongs to its claim until the lease ends.
IN_FLIGHT: dict[Rail, frozenset[PaymentState]] = {
    Rail.paylov: frozenset({_S.creating, _S.paying}),
    Rail.payme: frozenset({_S.charging, _S.settling}),
    Rail.paysys: frozenset({_S.preparing, _S.confirming, _S.cancelling}),
}
# Waiting on the provider: the runner asks on the schedule.
WAITING: dict[Rail, frozenset[PaymentState]] = {
    Rail.paylov: frozenset({_S.unknown}),
    Rail.payme: frozenset({_S.unknown, _S.charged, _S.settling, _S.refunding}),
    Rail.paysys: frozenset({_S.unknown}),
}


class InvalidTransition(ValueError):
    def __init__(self, old: PaymentState, new: PaymentState, rail: Rail = Rail.paylov) -> None:
        super().__init__(f"{Rail(rail).value}: {PaymentState(old).value} -> {PaymentState(new).value}")
        self.code = "invalid_transition"
        self.old = PaymentState(old)
        self.new = PaymentState(new)
        self.rail = Rail(rail)


def check_transition(old: PaymentState | str, new: PaymentState | str, rail: Rail | str = Rail.paylov) -> None:
    """Accepts the enums or their stored string values."""
    table = TRANSITIONS[Rail(rail)]
    old_state, new_state = PaymentState(old), PaymentState(new)
    if old_state not in table or new_state not in table or new_state not in table[old_state]:
        raise InvalidTransition(old_state, new_state, Rail(rail))


def is_final(state: PaymentState | str, rail: Rail | str = Rail.paylov) -> bool:
    table = TRANSITIONS[Rail(rail)]
    return PaymentState(state) in table and not table[PaymentState(state)]


# ---- which answers prove that nothing was charged ----------------------------------------------------------------
# An answer that does not prove "not charged" means "unknown", settled by the provider's status call. These lists
# are the documented codes (providers.md; codes it marks unconfirmed count until a provider says otherwise) whose
# meaning is a refusal before any money moved. Anything else — processing_error, server_error, a code we have never
# seen, a garbled answer — is checked.

# servicePayment/pay (the user's card with a code, or the settlement card): refused, nothing charged.
PAYLOV_PAY_NOT_CHARGED = frozenset({
    "invalid_otp", "otp_expired", "too_many_attempts", "card_expired", "insufficient_funds", "invalid_card",
    "pan_not_valid", "sms_not_active", "card_has_no_phone", "card_is_not_supported",
    "daily_limit_used_for_this_card", "invalid_amount", "transaction_not_available_for_payment",
    "validation_error", "field_not_valid", "phone_not_match", "card_is_blocked", "card_not_found",
    "card_not_found_in_processing_center", "card_is_blocked_in_processing_center", "account_not_found",
    "service_not_available", "transaction_not_found",
})
# servicePayment/pay answers that call for transaction/status rather than a verdict.
PAYLOV_PAY_CHECK = frozenset({
    "processing_error", "server_error", "gateway_not_working", "unknown_error", "transaction_already_payed",
})

# receipts.pay: refused before the card was debited.
PAYME_PAY_NOT_CHARGED = frozenset({
    -32300,  # not POST
    -32700,  # parse error
    -32600,  # bad request
    -32601,  # unknown method
    -32504,  # bad X-Auth: not processed
    -31300,  # bad card number or expiry
    -31301,  # card expired, blocked or without SMS
    -31303,  # insufficient funds
    -31400,  # card token not found
    -31611,  # bad amount
    -31630,  # card refused
})
# receipts.pay answers that call for receipts.get rather than a verdict.
PAYME_PAY_CHECK = frozenset({
    -32400,  # system error: the debit may have happened
    -31001,  # service unavailable
    -31002,  # processing unavailable
    -31302,  # balance unavailable
})


# cash2card.confirm_remittance: refused before anything was sent (providers.md: no code list is published; these are
# the protocol's own refusals and the deposit's "insufficient funds", which leaves the payout prepared). Anything
# else — a system error, "wrong state" (a first confirm may have gone through), a code never seen — is checked with
# check_remittance.
PAYSYS_CONFIRM_NOT_SENT = frozenset({
    -32300,  # not POST
    -32700,  # parse error
    -32600,  # bad request
    -32601,  # unknown method
    -32602,  # bad params
    -32504,  # bad Auth: not processed
    -20020,  # insufficient funds on our deposit: the payout stays prepared
})
PAYSYS_NOT_FOUND = -20030  # check_remittance: PaySys has no payout with this partner_transaction_id
PAYSYS_WRONG_STATE = -20031  # confirm/cancel: not allowed in the payout's status (a cancel: the confirm took)


def paysys_confirm_not_sent(code: str | int) -> bool:
    try:
        return int(code) in PAYSYS_CONFIRM_NOT_SENT
    except (TypeError, ValueError):
        return False


def paylov_pay_not_charged(code: str) -> bool:
    return code in PAYLOV_PAY_NOT_CHARGED


def payme_pay_not_charged(code: str | int) -> bool:
    try:
        return int(code) in PAYME_PAY_NOT_CHARGED
    except (TypeError, ValueError):
        return False


# ---- leases ----------------------------------------------------------------------------------------------------

CALLS_PER_LEASE = 2  # a renewal comes with every write; between two writes: one call, plus a token refresh
LEASE_MARGIN = 2.0  # seconds: clocks of two processes and the database write itself


def min_lease(connect_timeout: float, read_timeout: float) -> float:
    """The shortest lease that outlives any provider call its holder may be waiting on."""
    return CALLS_PER_LEASE * (connect_timeout + read_timeout) + LEASE_MARGIN


# ---- the SMS code ------------------------------------------------------------------------------------------------

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
