"""Payout ids and what PaySys statuses mean for our ledger."""

from __future__ import annotations

import pytest

from bot.domain.payments import PaymentState as S
from bot.domain.payouts import EPOCH_MS, ID_BITS, new_partner_id, status_agrees


def test_payout_ids_grow_with_time_and_fit_a_json_number():
    first = new_partner_id(now_ms=EPOCH_MS + 1_000, random_bits=4095)
    later = new_partner_id(now_ms=EPOCH_MS + 1_001, random_bits=0)
    assert first < later
    assert new_partner_id(now_ms=EPOCH_MS + (1 << 41) - 1, random_bits=4095) == (1 << ID_BITS) - 1
    assert (1 << ID_BITS) - 1 <= 2 ** 53 - 1


def test_payout_ids_do_not_repeat_after_a_reset():
    """No counter that a fresh database would start again: an id made now is above any made a moment ago."""
    import time
    a_moment_ago = new_partner_id(now_ms=time.time_ns() // 1_000_000 - 2, random_bits=4095)
    assert new_partner_id() > a_moment_ago


def test_a_clock_outside_the_range_is_refused():
    with pytest.raises(ValueError):
        new_partner_id(now_ms=EPOCH_MS - 1)


@pytest.mark.parametrize("status, state, agrees", [
    (1, S.paid, True), (1, S.failed, False), (1, S.prepared, False),
    (0, S.prepared, True), (0, S.paid, False),
    (2, S.failed, True), (2, S.paid, False),
    (3, S.reversed, True), (3, S.paid, False),
    (-1, S.failed, True), (-1, S.paid, False),
    (7, S.paid, False),
])
def test_status_agrees(status, state, agrees):
    assert status_agrees(status, state) is agrees
