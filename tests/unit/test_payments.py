"""Payment states: the whole move table, final states, and the three-tries rule for SMS codes."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.payments import (
    IN_FLIGHT,
    MAX_OTP_TRIES,
    PAYLOV_PAY_CHECK,
    PAYLOV_PAY_NOT_CHARGED,
    PAYME_PAY_CHECK,
    PAYME_PAY_NOT_CHARGED,
    PAYSYS_CONFIRM_NOT_SENT,
    TRANSITIONS,
    InvalidTransition,
    OtpAttempts,
    Rail,
    check_transition,
    is_final,
    min_lease,
    paylov_pay_not_charged,
    payme_pay_not_charged,
    paysys_confirm_not_sent,
)
from bot.domain.payments import (
    PaymentState as S,
)

ALLOWED = {
    Rail.paylov: {
        (S.draft, S.creating), (S.draft, S.failed),
        (S.creating, S.created), (S.creating, S.failed),
        (S.created, S.paying), (S.created, S.failed),
        (S.paying, S.paid), (S.paying, S.failed), (S.paying, S.unknown),
        (S.paying, S.created),  # a wrong code, or pay never reached the provider
        (S.paying, S.creating),  # an expired code: a new transaction on the same payment
        (S.unknown, S.paid), (S.unknown, S.failed),
    },
    Rail.payme: {
        (S.draft, S.charging), (S.draft, S.failed),
        (S.charging, S.charged), (S.charging, S.failed), (S.charging, S.unknown),
        (S.unknown, S.charged), (S.unknown, S.failed),  # the receipt's state decides
        (S.charged, S.settling), (S.charged, S.refunding),
        (S.settling, S.paid), (S.settling, S.refunding),
        (S.settling, S.charged),  # Paylov's pay never arrived: the bill may be paid again
        (S.refunding, S.refunded),
    },
    Rail.paysys: {
        (S.draft, S.preparing), (S.draft, S.failed),
        (S.preparing, S.prepared), (S.preparing, S.failed), (S.preparing, S.unknown),
        (S.prepared, S.confirming), (S.prepared, S.cancelling),
        (S.confirming, S.paid), (S.confirming, S.failed), (S.confirming, S.unknown),
        (S.cancelling, S.failed), (S.cancelling, S.unknown),
        (S.confirming, S.prepared), (S.cancelling, S.prepared),  # the call never arrived: still prepared
        (S.unknown, S.paid), (S.unknown, S.failed), (S.unknown, S.cancelling),  # check_remittance decides
        (S.paid, S.reversed),  # status 3 after completion
    },
}


@pytest.mark.parametrize("rail, old, new", sorted(itertools.product(Rail, S, S)))
def test_every_move_is_allowed_or_refused_as_the_rails_table_says(rail, old, new):
    if (old, new) in ALLOWED[rail]:
        check_transition(old, new, rail)
        check_transition(old.value, new.value, rail.value)  # the stored strings work too
        return
    with pytest.raises(InvalidTransition) as error:
        check_transition(old, new, rail)
    assert (error.value.code, error.value.old, error.value.new, error.value.rail) == (
        "invalid_transition", old, new, rail)
    assert str(error.value) == f"{rail.value}: {old.value} -> {new.value}"


def test_a_paylov_payment_never_reaches_a_payme_state():
    payme_only = {S.charging, S.charged, S.settling, S.refunding, S.refunded}
    assert not payme_only & set(TRANSITIONS[Rail.paylov])
    for old in TRANSITIONS[Rail.paylov]:
        for new in payme_only:
            with pytest.raises(InvalidTransition):
                check_transition(old, new, Rail.paylov)


def test_a_payme_payment_never_asks_for_a_code():
    assert {S.creating, S.created, S.paying}.isdisjoint(TRANSITIONS[Rail.payme])


@pytest.mark.parametrize("rail, state, final", [
    (Rail.paylov, S.draft, False), (Rail.paylov, S.created, False), (Rail.paylov, S.paying, False),
    (Rail.paylov, S.unknown, False), (Rail.paylov, S.paid, True), (Rail.paylov, S.failed, True),
    (Rail.payme, S.charging, False), (Rail.payme, S.charged, False), (Rail.payme, S.settling, False),
    (Rail.payme, S.refunding, False), (Rail.payme, S.refunded, True), (Rail.payme, S.paid, True)])
def test_final_states(rail, state, final):
    assert is_final(state, rail) is final and is_final(state.value, rail.value) is final


def test_every_call_in_flight_is_a_state_of_its_rail():
    for rail, states in IN_FLIGHT.items():
        assert states <= set(TRANSITIONS[rail]) and not any(is_final(s, rail) for s in states)


def test_a_payment_is_never_paid_without_a_pay_call():
    for rail in Rail:
        for old in (S.draft, S.created, S.creating, S.charging):
            with pytest.raises(InvalidTransition):
                check_transition(old, S.paid, rail)


@pytest.mark.parametrize("code", sorted(PAYLOV_PAY_NOT_CHARGED))
def test_paylov_refusals_that_prove_nothing_was_charged(code):
    assert paylov_pay_not_charged(code)


@pytest.mark.parametrize("code", [*sorted(PAYLOV_PAY_CHECK), "http_400", "http_429", "something_new", ""])
def test_every_other_paylov_answer_is_checked(code):
    assert not paylov_pay_not_charged(code)


@pytest.mark.parametrize("code", sorted(PAYME_PAY_NOT_CHARGED))
def test_payme_refusals_that_prove_nothing_was_charged(code):
    assert payme_pay_not_charged(code) and payme_pay_not_charged(str(code))


@pytest.mark.parametrize("code", [*sorted(PAYME_PAY_CHECK), -31999, "http_400", None])
def test_every_other_payme_answer_is_checked(code):
    assert not payme_pay_not_charged(code)


def test_a_lease_outlives_the_provider_calls_it_covers():
    assert min_lease(3, 15) == 2 * 18 + 2
    assert min_lease(3, 15) <= 60  # the default PAYING_STALE_AFTER


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
            check_transition(old, S.failed, Rail.payme)


@pytest.mark.parametrize("code", sorted(PAYSYS_CONFIRM_NOT_SENT))
def test_paysys_confirm_refusals_that_prove_nothing_was_sent(code):
    assert paysys_confirm_not_sent(code) and paysys_confirm_not_sent(str(code))


@pytest.mark.parametrize("code", [-32400, -20031, -20030, -1, -99999, "http_400", "", None])
def test_every_other_paysys_confirm_answer_is_checked(code):
    # -20031 "wrong state": a first confirm may have gone through; -20030 "not found" after a confirm is no proof
    assert not paysys_confirm_not_sent(code)


def test_a_payout_is_never_paid_without_a_confirm():
    for old in (S.draft, S.preparing, S.prepared, S.cancelling):
        with pytest.raises(InvalidTransition):
            check_transition(old, S.paid, Rail.paysys)
