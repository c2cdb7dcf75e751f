"""Card number, expiry and SMS-code rules, checked before any provider call. Nothing here keeps a number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

BRANDS = ("8600", "9860")  # UzCard, HUMO


class CardError(ValueError):
    """Carries only a code: a card number never reaches an exception message or a traceback."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalize_pan(text: str | None) -> str:
    return re.sub(r"[\s\-]", "", text or "")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        n = int(char)
        if index % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def validate_pan(text: str | None, *, allowed_extra: frozenset[str] = frozenset()) -> str:
    pan = normalize_pan(text)
    if not pan.isdigit():
        raise CardError("digits")
    if len(pan) != 16:
        raise CardError("length")
    if not luhn_ok(pan):
        raise CardError("luhn")
    if not pan.startswith(BRANDS) and pan not in allowed_extra:
        raise CardError("brand")
    return pan


@dataclass(frozen=True)
class Expiry:
    month: int
    year: int  # four digits

    @property
    def yymm(self) -> str:
        return f"{self.year % 100:02d}{self.month:02d}"


def parse_expiry(text: str | None, today: date) -> Expiry:
    """'03/99', '0399', '03 99', '3/99', '03-99' -> Expiry(3, 2099); a past or impossible month is refused."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*[/\-. ]\s*(\d{2})\s*|\s*(\d{2})(\d{2})\s*", text or "")
    if not match:
        raise CardError("expiry_format")
    month = int(match.group(1) or match.group(3))
    year = 2000 + int(match.group(2) or match.group(4))
    if not 1 <= month <= 12:
        raise CardError("expiry_month")
    if (year, month) < (today.year, today.month):
        raise CardError("expiry_past")
    return Expiry(month, year)


def parse_otp(text: str | None) -> str:
    code = re.sub(r"\s", "", text or "")
    if not re.fullmatch(r"\d{6}", code):
        raise CardError("otp_format")
    return code


def display_masked(masked: str) -> str:
    """'860006******6311' -> '8600 06** **** 6311'."""
    return " ".join(masked[i:i + 4] for i in range(0, len(masked), 4)).replace("*", "*")
