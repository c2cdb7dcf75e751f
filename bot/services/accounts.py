"""What the provider knows about an account: name, address, balance, and whether it owes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain.money import debt_from_saldo, owed_from_saldo
from bot.providers.paylov import PaylovClient
from bot.services.catalogue import ServiceForm

FIRST = ("fio", "address", "saldo", "balance")
BALANCE = ("saldo", "balance")


@dataclass(frozen=True)
class InfoLine:
    name: str
    title: str
    value: str
    is_balance: bool


@dataclass(frozen=True)
class AccountInfo:
    lines: list[InfoLine]
    debt: int | None  # whole sums, rounded up; None when nothing is owed or the balance says nothing clear
    owed: Decimal | None = None  # the debt exactly as stated (15105.15), shown beside `debt` when they differ


class AccountsService:
    def __init__(self, paylov: PaylovClient) -> None:
        self._paylov = paylov

    async def lookup(self, form: ServiceForm, account: dict[str, str]) -> AccountInfo:
        items = await self._paylov.info(form.service.id, account)
        field_names = {field.name for field in form.fields}
        lines: list[InfoLine] = []
        debt = owed = None
        for item in items:
            if item.name in field_names:  # the account fields the user just chose are echoed back
                continue
            title, postfix = form.response_titles.get(item.name, (item.title, None))
            value = str(item.value)
            if postfix and not value.endswith(postfix):
                value = f"{value} {postfix}"
            is_balance = item.name in BALANCE or (item.title or "") in BALANCE
            if is_balance:
                debt = debt_from_saldo(str(item.value))
                owed = owed_from_saldo(str(item.value))
            lines.append(InfoLine(item.name, item.title or title, value, is_balance))
        lines.sort(key=lambda line: FIRST.index(line.name) if line.name in FIRST else len(FIRST))
        return AccountInfo(lines=lines, debt=debt, owed=owed)
