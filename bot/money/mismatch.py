"""One disagreement between our ledger and a provider, as the daily reconciliation reports it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.money import format_tiyin as tiyin_as_sums  # noqa: F401 - the reports' name for it


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
