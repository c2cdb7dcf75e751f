"""One Markdown table of measures, the floor beside this bot, for bench/compare.py.

The ratio is always "how many times the floor's cost": bot ÷ floor for times, CPU and memory, floor ÷ bot for a
throughput (updates/s). So 1.0 is as good as a bare aiogram bot and 3.0 is three times worse, whichever way the
measure itself points; a reader never has to remember which rows are better high.
"""

from __future__ import annotations

from dataclasses import dataclass

NONE = "—"


@dataclass(frozen=True)
class Row:
    measure: str
    floor: float | None  # None: the floor has no such measure (it cannot pay a bill)
    bot: float | None
    digits: int = 1
    throughput: bool = False  # higher is better: the ratio is floor ÷ bot

    def ratio(self) -> float | None:
        if self.floor is None or self.bot is None:
            return None
        cost, base = (self.floor, self.bot) if self.throughput else (self.bot, self.floor)
        return cost / base if base else None


def _cell(value: float | None, digits: int) -> str:
    if value is None:
        return NONE
    return f"{value:,.{digits}f}" if digits else f"{round(value):,}"


def markdown(rows: list[Row]) -> str:
    lines = ["| measure | floor | this bot | ratio |", "|---|---:|---:|---:|"]
    for row in rows:
        ratio = row.ratio()
        lines.append(f"| {row.measure} | {_cell(row.floor, row.digits)} | {_cell(row.bot, row.digits)} | "
                     f"{NONE if ratio is None else f'{ratio:.1f}×'} |")
    return "\n".join(lines)
