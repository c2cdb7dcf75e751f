"""Payment states: the whole move table, final states, and the three-tries rule for SMS codes."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.payments import (
    MAX_OTP_TRIES,
    TRANSITIONS,
    InvalidTransition,
    OtpAttempts,
    check_transition,
    is_final,
)
from bot.domain.payments import (
    PaymentState as S,
)

ALLOWED = {
    (S.draft, S.created), (S.draft, S.failed),
    (S.created, S.created),  # an expired code: a new transaction on the same payment
    (S.created, S.paying), (S.created, S.failed),
    (S.paying, S.paid), (S.paying, S.failed), (S.paying, S.unknown),
    (S.paying, S.created),  # a wrong code, or pay never reached the provider
    (S.unknown, S.paid), (S.unknown, S.failed),
    (S.unknown, S.created),  # the status says nothing was charged
    # the Payme rail
    (S.draft, S.charging), (S.charging, S.charged), (S.charging, S.failed), (S.charging, S.unknown),
    (S.unknown, S.charged),  # receipts.check says the receipt was paid
    (S.charged, S.settling), (S.charged, S.refunding),
    (S.settling, S.paid), (S.settling, S.refunding),
    (S.settling, S.charged),  # Paylov's pay never arrived: the bill may be paid again
    (S.refunding, S.refunded),
}


@pytest.mark.parametrize("old, new", sorted(itertools.product(S, S)))
def test_every_move_is_allowed_or_refused_as_the_table_says(old, new):
    if (old, new) in ALLOWED:
        check_transition(old, new)
        check_transition(old.value, new.value)  # the stored string works too
        return
    with pytest.raises(InvalidTransition) as error:
        check_transition(old, new)
    assert (error.value.code, error.value.old, error.value.new) == ("invalid_transition", old, new)
    assert str(error.value) == f"{old.value} -> {new.value}"


def test_the_table_covers_every_state():
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize("state, final", [(S.draft, False), (S.created, False), (S.paying, False),
                                          (S.unknown, False), (S.paid, True), (S.failed, True),
                                          (S.charging, False), (S.charged, False), (S.settling, False),
                                          (S.refunding, False), (S.refunded, True)])
def test_final_states(state, final):
    assert is_final(state) is final and is_final(state.value) is final


def test_a_payment_is_never_paid_without_a_pay_call():
    for old in (S.draft, S.created):
        with pytest.raises(InvalidTransition):
            check_transition(old, S.paid)


def test_states_are_stored_as_plain_strings():
    assert S("unknown") is S.unknown and S.paid == "paid"


def test_three_wrong_codes_exhaust_the_attempts():
    attempts = OtpAttempts()
    lefts = []
    for _ in range(MAX_OTP_TRIES):
        assert not attempts.exhausted
        attempts = attempts.failed()
        lefts.append(attempts.left)
    assert lefts == [2, 1, 0] and attempts.exhausted
    assert attempts.failed() == attempts  # no count past the limit
    assert OtpAttempts(failures=1).left == 2


@pytest.mark.parametrize("failures, left, exhausted", [(0, 3, False), (2, 1, False), (3, 0, True), (5, 0, True)])
def test_attempts_from_a_stored_count(failures, left, exhausted):
    attempts = OtpAttempts(failures)
    assert (attempts.left, attempts.exhausted) == (left, exhausted)


def test_money_that_left_the_card_never_ends_as_failed():
    """Once a Payme receipt is paid, the payment ends paid (bill settled) or refunded (receipt cancelled)."""
    for old in (S.charged, S.settling, S.refunding):
        with pytest.raises(InvalidTransition):
            check_transition(old, S.failed)
