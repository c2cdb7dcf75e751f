"""Amounts. Integers only: whole sums for Paylov, tiyin (1/100 sum) for card balances and Payme.

Typed amounts (`parse_sums`): spaces of any kind (regular, no-break U+00A0, narrow U+202F, thin U+2009) separate
thousands; so do "," or "." when every group after them has exactly three digits ("15,000", "1.500.000"). Any
other fraction is refused as `whole_sums` ("15000.50", "15,5"), except one made only of zeros ("15000.00"). A
currency word after the number ("so'm", "sum", "сум", "сўм", "UZS") is ignored.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

MAX_DIGITS = 12  # a trillion sums: anything longer is a typo or a paste, not an amount
MAX_TEXT = 40
CURRENCY = re.compile(r"\s*(?:so['‘’ʻ`]?m|sum|сум|сўм|uzs)\.?\s*$", re.IGNORECASE)
GROUPED = re.compile(r"[0-9]{1,3}(?:([,.])[0-9]{3})(?:\1[0-9]{3})*")  # one separator kind, 3-digit groups
FRACTION = re.compile(r"([0-9]+)[.,]([0-9]+)")
WHOLE = re.compile(r"[0-9]+")
MINUS = "-\u2212"  # ASCII hyphen-minus and the Unicode minus sign


class AmountError(ValueError):
    """`code` is what the UI translates; `params` fill its message (min=, max=)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def parse_sums(text: str | None) -> int:
    """A typed amount in whole sums ('15 000' -> 15000); sub-sum amounts are refused, never rounded."""
    raw = (text or "").strip()
    if len(raw) > MAX_TEXT:
        raise AmountError("not_a_number")
    raw = "".join(CURRENCY.sub("", raw).split())
    negative = raw != "" and raw[0] in MINUS
    if negative:
        raw = raw[1:]
    if GROUPED.fullmatch(raw):
        raw = re.sub(r"[,.]", "", raw)
    elif match := FRACTION.fullmatch(raw):
        if match.group(2).strip("0"):
            raise AmountError("whole_sums")
        raw = match.group(1)
    if not WHOLE.fullmatch(raw) or len(raw.lstrip("0")) > MAX_DIGITS:
        raise AmountError("not_a_number")
    value = -int(raw) if negative else int(raw)
    if value <= 0:
        raise AmountError("positive")
    return value


def check_limits(amount: int, minimum: int, maximum: int) -> int:
    """The service's own bounds (servicePayment/list `amount.min/max`, whole sums)."""
    if amount < minimum:
        raise AmountError("below_min", min=minimum, max=maximum)
    if amount > maximum:
        raise AmountError("above_max", min=minimum, max=maximum)
    return amount


def format_sums(amount: int) -> str:
    """15000 -> '15 000'. A regular space: Telegram clients render it everywhere."""
    return f"{amount:,}".replace(",", " ")


def format_tiyin(amount: int) -> str:
    """Tiyin as sums, the fraction only when there is one: 700000 -> '7 000', 700050 -> '7 000.50', -50 -> '-0.50'
    (a cashback balance is negative when a refund took back cashback already withdrawn)."""
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 100)
    return sign + format_sums(whole) + (f".{part:02d}" if part else "")


def sums_to_tiyin(amount: int) -> int:
    return amount * 100


def tiyin_to_sums_floor(amount: int) -> int:
    """What a balance can pay in whole sums: never more than there is."""
    return amount // 100


def parse_provider_amount(text: str | None) -> int:
    """A provider's amount string in sums ('15105.15 UZS', '-1000', '15 105,15') -> tiyin, exactly."""
    tiyin = _provider_sums(text) * 100
    if tiyin != tiyin.to_integral_value():
        raise AmountError("not_a_number")  # finer than a tiyin: not an amount we can represent
    return int(tiyin)


# THE assumption about account balances, in one place: the provider's `saldo` is the account's balance, so a
# negative saldo is what the account owes and zero or positive means nothing is owed. The seed shows only a
# positive example ("15105.15 UZS"); our sandbox follows this convention. If a provider turns out to report the debt
# as a positive number, flip this constant.
DEBT_IS_NEGATIVE_SALDO = True


def debt_from_saldo(value: str | None) -> int | None:
    """The debt in whole sums, rounded up so paying it clears it ('-15105.15 UZS' -> 15106); None when nothing
    is owed or the value cannot be read."""
    try:
        saldo = _provider_sums(value)
    except AmountError:
        return None
    owed = -saldo if DEBT_IS_NEGATIVE_SALDO else saldo
    if owed <= 0:
        return None
    return int(owed.to_integral_value(rounding=ROUND_CEILING))


def owed_from_saldo(value: str | None) -> Decimal | None:
    """The debt exactly as the provider states it ('-15105.15 UZS' -> 15105.15), to show beside what is paid."""
    try:
        saldo = _provider_sums(value)
    except AmountError:
        return None
    owed = -saldo if DEBT_IS_NEGATIVE_SALDO else saldo
    return owed if owed > 0 else None


def _provider_sums(text: str | None) -> Decimal:
    raw = "".join(CURRENCY.sub("", (text or "").strip()).split())
    negative = raw != "" and raw[0] in MINUS
    if negative or raw.startswith("+"):
        raw = raw[1:]
    if "," in raw and "." in raw:  # '1,234.56': the comma groups thousands
        raw = raw.replace(",", "")
    raw = raw.replace(",", ".")
    if not re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", raw) or len(raw) > MAX_TEXT:
        raise AmountError("not_a_number")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the pattern above admits only valid decimals
        raise AmountError("not_a_number") from exc
    return -value if negative else value
