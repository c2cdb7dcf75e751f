"""One engine for "the outcome is unknown": picks rows whose claim expired or whose check is due, one at a time,
and hands each to its rail. Each row is settled in its own `try`, so one bad row never stops the others."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Protocol

from bot.domain.payments import Rail
from bot.money.ledger import Ledger, LostClaim, PaymentView, PayResult

logger = logging.getLogger(__name__)

MAX_PER_PASS = 200  # rows settled in one pass; the rest wait for the next
RETRY_AFTER_ERROR = timedelta(seconds=60)


class RailAdapter(Protocol):
    rail: Rail

    async def resolve(self, payment: PaymentView) -> PayResult:
        """One step toward a final state for a row this process has claimed; gives the claim back."""


class Runner:
    def __init__(self, ledger: Ledger, rails: Mapping[Rail, RailAdapter]) -> None:
        self._ledger = ledger
        self._rails = rails

    async def run_due(self) -> list[PayResult]:
        """Settle what is due now; the results the users must hear about are the caller's to tell."""
        results: list[PayResult] = []
        seen: list[int] = []
        while len(seen) < MAX_PER_PASS and (payment := await self._ledger.pick(skip=seen)) is not None:
            seen.append(payment.id)
            result = await self.resolve(payment)
            if result is not None:
                results.append(result)
        return results

    async def resolve(self, payment: PaymentView) -> PayResult | None:
        """A claimed row through its rail; an error is logged and the row asked about again later."""
        rail = self._rails.get(payment.rail)
        try:
            if rail is None:
                raise RuntimeError(f"no {payment.rail.value} rail configured")
            return await rail.resolve(payment)
        except LostClaim:
            return None
        except Exception as error:  # noqa: BLE001 - one row's failure must not stop the others
            logger.error("settling payment %s failed: %s", payment.id, type(error).__name__, exc_info=True)
            await self._retry_later(payment)
            return None

    async def _retry_later(self, payment: PaymentView) -> None:
        """Not before RETRY_AFTER_ERROR, whatever its state: the lease is left to run until then."""
        later = self._ledger.now() + RETRY_AFTER_ERROR
        try:
            await self._ledger.note(payment, "settlement error; asking again later", next_check_at=later,
                                    lease_owner=None, lease_until=later)
        except Exception:  # noqa: BLE001 - the lease runs out by itself
            logger.warning("payment %s: could not reschedule after an error", payment.id)
