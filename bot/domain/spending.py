"""What a user paid per month and service over a window of months: the History chart's data."""

from __future__ import annotations

from dataclasses import dataclass

Month = tuple[int, int]  # (year, month)


def months_back(last: Month, count: int) -> tuple[Month, ...]:
    """`count` months ending with `last`, oldest first."""
    index = last[0] * 12 + last[1] - 1
    return tuple((i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1))


@dataclass(frozen=True)
class Spending:
    months: tuple[Month, ...]  # oldest first
    services: tuple[tuple[str, str], ...]  # (service id, name), the biggest total first
    sums: dict[tuple[str, Month], int]  # (service id, month) -> whole sums paid

    def amount(self, service_id: str, month: Month) -> int:
        return self.sums.get((service_id, month), 0)

    def month_total(self, month: Month) -> int:
        return sum(self.amount(service_id, month) for service_id, _name in self.services)

    def service_total(self, service_id: str) -> int:
        return sum(self.amount(service_id, month) for month in self.months)

    @property
    def total(self) -> int:
        return sum(self.sums.get((sid, m), 0) for sid, _name in self.services for m in self.months)

    @property
    def empty(self) -> bool:
        return self.total == 0


def spending(months: tuple[Month, ...], rows: list[tuple[str, str, Month, int]]) -> Spending:
    """From (service id, name, month, sum) rows; rows outside the window are left out."""
    window = set(months)
    sums: dict[tuple[str, Month], int] = {}
    names: dict[str, str] = {}
    for service_id, name, month, amount in rows:
        if month not in window or amount <= 0:
            continue
        sums[(service_id, month)] = sums.get((service_id, month), 0) + amount
        names.setdefault(service_id, name)
    totals = {sid: sum(v for (s, _m), v in sums.items() if s == sid) for sid in names}
    services = tuple(sorted(names.items(), key=lambda item: (-totals[item[0]], item[1])))
    return Spending(months, services, sums)
