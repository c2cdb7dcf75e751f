"""Payouts through PaySys cash2card: our payout id, and what a PaySys status means for our ledger.

`partner_transaction_id` is PaySys's only business key for our side and is never reused, not even after our
database is reset (the demo starts fresh each run, against a PaySys that remembers). So it is not a row id: it is
the time in milliseconds since 2026-01-01 UTC with 12 random bits below, 53 bits in all — unique in the database by
an index, and exact in any JSON parser (a JavaScript number is exact up to 2**53).
"""

from __future__ import annotations

import secrets
import time

from bot.domain.payments import PaymentState

EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
RANDOM_BITS = 12
ID_BITS = 53  # 41 bits of milliseconds: until 2095


def new_partner_id(now_ms: int | None = None, random_bits: int | None = None) -> int:
    """A fresh partner_transaction_id; the caller retries on the (very rare) unique-index conflict."""
    ms = (time.time_ns() // 1_000_000 if now_ms is None else now_ms) - EPOCH_MS
    if not 0 <= ms < 1 << (ID_BITS - RANDOM_BITS):
        raise ValueError("the clock is outside the payout id range")
    low = secrets.randbits(RANDOM_BITS) if random_bits is None else random_bits
    return (ms << RANDOM_BITS) | (low & ((1 << RANDOM_BITS) - 1))


# What our ledger may say of a payout PaySys reports in each status (0 created, 1 completed, 2 cancelled,
# 3 reversed, -1 error): a call in flight or an unclear answer fits any status its call could have led to.
_IN_FLIGHT = {PaymentState.confirming, PaymentState.cancelling, PaymentState.unknown}
EXPECTED_STATES: dict[int, frozenset[PaymentState]] = {
    0: frozenset({PaymentState.prepared, PaymentState.preparing, *_IN_FLIGHT}),
    1: frozenset({PaymentState.paid, PaymentState.confirming, PaymentState.unknown}),
    2: frozenset({PaymentState.failed, *_IN_FLIGHT}),
    3: frozenset({PaymentState.reversed}),
    -1: frozenset({PaymentState.failed, PaymentState.confirming, PaymentState.unknown}),
}


def status_agrees(status: int, state: PaymentState | str) -> bool:
    """Does our row's state fit the status PaySys reports? An undocumented status never does."""
    expected = EXPECTED_STATES.get(status)
    return expected is not None and PaymentState(state) in expected
