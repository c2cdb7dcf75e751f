"""Amounts. Integers only: whole sums for Paylov, tiyin (1/100 sum) for card balances and Payme."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

MAX_DIGITS = 12


class AmountError(ValueError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def parse_sums(text: str | None) -> int:
    """'15000', '15 000' (any spaces as thousands separators) -> 15000. Tiyin are refused, not rounded."""
    raw = re.sub(r"[\s\u00a0\u202f]", "", text or "")
    raw = raw.removesuffix("so'm").removesuffix("сум").removesuffix("sum")
    if re.fullmatch(r"-?\d+[.,]\d+", raw):
        raise AmountError("whole_sums")
    if not re.fullmatch(r"-?\d+", raw) or len(raw.lstrip("-")) > MAX_DIGITS:
        raise AmountError("not_a_number")
    value = int(raw)
    if value <= 0:
        raise AmountError("positive")
    return value


def check_limits(amount: int, minimum: int, maximum: int) -> int:
    if amount < minimum:
        raise AmountError("below_min", min=minimum, max=maximum)
    if amount > maximum:
        raise AmountError("above_max", min=minimum, max=maximum)
    return amount


def format_sums(amount: int) -> str:
    return f"{amount:,}".replace(",", " ")


def sums_to_tiyin(amount: int) -> int:
    return amount * 100


def tiyin_to_sums_floor(amount: int) -> int:
    return amount // 100


def parse_provider_amount(text: str) -> int:
    """'15105.15 UZS' -> 1510515 tiyin, exactly (Decimal, never float)."""
    match = re.search(r"-?\d[\d\s]*(?:[.,]\d+)?", text or "")
    if not match:
        raise AmountError("not_a_number")
    try:
        value = Decimal(re.sub(r"\s", "", match.group(0)).replace(",", "."))
    except InvalidOperation as exc:
        raise AmountError("not_a_number") from exc
    return int((value * 100).to_integral_value(rounding=ROUND_CEILING))


# THE assumption about providers' balances: a negative saldo is what the account owes. The seed shows only a
# positive example; our sandbox uses this convention, and this is the one place to change it.
DEBT_IS_NEGATIVE_SALDO = True


def debt_from_saldo(value: str) -> int | None:
    """The debt in whole sums, rounded up ('-15105.15 UZS' -> 15106); None when nothing is owed or unclear."""
    try:
        tiyin = parse_provider_amount(value)
    except AmountError:
        return None
    owed = -tiyin if DEBT_IS_NEGATIVE_SALDO else tiyin
    if owed <= 0:
        return None
    return -(-owed // 100)
