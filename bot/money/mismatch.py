"""One disagreement between our ledger and a provider, as the daily reconciliation reports it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.money import format_sums


@dataclass(frozen=True)
class Mismatch:
    kind: str
    payment_id: int | None
    receipt_id: str | None
    transaction_id: str | None
    detail: str

    def line(self) -> str:
        ids = [f"payment {self.payment_id if self.payment_id is not None else '—'}",
               f"receipt {self.receipt_id or '—'}", f"transaction {self.transaction_id or '—'}"]
        if self.kind.startswith("payout_") and self.receipt_id is None:
            ids.pop(1)  # payouts have no receipts
        return f"{self.kind}: {', '.join(ids)}: {self.detail}"


def tiyin_as_sums(amount: int) -> str:
    """Tiyin as sums, the fraction only when there is one: 700000 -> '7 000', 700050 -> '7 000.50'."""
    whole, part = divmod(amount, 100)
    return format_sums(whole) + (f".{part:02d}" if part else "")

