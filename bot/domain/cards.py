"""Card number, expiry and SMS-code rules, checked before any provider call.

Nothing here keeps a full number: errors carry a code only, `Expiry` hides itself in repr, and the duplicate
fingerprint is built from the masked form the provider returns (first 6 + last 4), never from the middle digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

BRANDS = ("8600", "9860")  # UzCard, HUMO
# The brand a number's first digits name, wherever one is shown (messages, the card page's hint). 5614 is UzCard's
# co-badged range: Payme's page takes it, our own card flow keeps to BRANDS.
BRAND_NAMES = {"8600": "UZCARD", "5614": "UZCARD", "9860": "HUMO"}
PAN_LENGTH = 16
PAN_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")
DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "²" and other scripts' digits
# MM/YY, M/YY, MM YY, MM-YY, MM.YY, MM/YYYY, and MMYY without a separator.
EXPIRY = re.compile(r"(?P<m>[0-9]{1,2})\s*[/\-. ]\s*(?P<y>[0-9]{2}|20[0-9]{2})|(?P<m4>[0-9]{2})(?P<y4>[0-9]{2})")
OTP = re.compile(r"[0-9]{6}")


class CardError(ValueError):
    """`code` is what the UI translates; `params` fill its message. Never built from what the user typed."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def normalize_pan(text: str | None) -> str:
    """Spaces (any kind) and dashes removed; nothing else is touched."""
    return PAN_SEPARATORS.sub("", text or "")


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


_CARD_LIKE = re.compile(r"(?<!\d)\d(?:[\s.\-]?\d){12,18}(?!\d)")


def holds_card_number(text: str | None) -> bool:
    """Whether a message holds what looks like a card number: 13 to 19 digits, with any separators, passing Luhn.
    Such a message is deleted wherever it is sent, not only at the step that asks for a number."""
    return any(luhn_ok(re.sub(r"\D", "", found)) for found in _CARD_LIKE.findall(text or ""))


def looks_like_code_or_expiry(text: str | None) -> bool:
    """A whole message that is an SMS code (6 digits, spaces allowed) or a card expiry (03/29, 03-29, 03.2029).
    Typed where nothing asks for one (the menu, whose search would echo it), it is deleted like a card number."""
    compact = (text or "").strip()
    if OTP.fullmatch("".join(compact.split())):
        return True
    match = EXPIRY.fullmatch(compact)
    return bool(match and match["m"] and 1 <= int(match["m"]) <= 12)


def validate_pan(text: str | None, *, allowed_extra: frozenset[str] = frozenset()) -> str:
    """The 16 digits of a UzCard or HUMO card. `allowed_extra` admits other numbers (the sandbox's test cards);
    it skips only the brand check, so a typo in one of them is still caught."""
    pan = normalize_pan(text)
    if not pan or (DIGITS.fullmatch(pan) and len(pan) != PAN_LENGTH):
        raise CardError("length")
    if not DIGITS.fullmatch(pan):
        raise CardError("digits")
    if not luhn_ok(pan):
        raise CardError("luhn")
    if not pan.startswith(BRANDS) and pan not in allowed_extra:
        raise CardError("brand")
    return pan


def mask_pan(pan: str) -> str:
    """'8600069195406311' -> '860006******6311', the shape the provider returns and we may store."""
    return f"{pan[:6]}******{pan[-4:]}"


@dataclass(frozen=True, repr=False)
class Expiry:
    month: int
    year: int  # four digits

    @property
    def yymm(self) -> str:
        """What Paylov's createUserCard takes."""
        return f"{self.year % 100:02d}{self.month:02d}"

    @property
    def mmyy(self) -> str:
        """What Payme's cards.create takes, and what is printed on the card."""
        return f"{self.month:02d}{self.year % 100:02d}"

    def __repr__(self) -> str:  # an expiry is card data: keep it out of logs and tracebacks
        return "Expiry(**/**)"


def parse_expiry(text: str | None, today: date) -> Expiry:
    """'03/99', '0399', '03 99', '3/99', '03-99', '03.99', '03/2099' -> Expiry(3, 2099).
    The card is valid through the end of its month, so the current month is still accepted."""
    match = EXPIRY.fullmatch((text or "").strip())
    if not match:
        raise CardError("expiry_format")
    month = int(match["m"] or match["m4"])
    year_text = match["y"] or match["y4"]
    year = int(year_text) if len(year_text) == 4 else 2000 + int(year_text)
    if not 1 <= month <= 12:
        raise CardError("expiry_month")
    if (year, month) < (today.year, today.month):
        raise CardError("expiry_past")
    return Expiry(month, year)


def parse_otp(text: str | None) -> str:
    """The 6-digit SMS code; spaces people type between the digits are dropped."""
    code = "".join((text or "").split())
    if not OTP.fullmatch(code):
        raise CardError("otp_format")
    return code


def mask_pan_for_display(masked: str | None) -> str:
    """The provider's masked number in groups of four: '860006******6311' -> '8600 06** **** 6311'."""
    compact = "".join((masked or "").split())
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


display_masked = mask_pan_for_display


def fingerprint(masked_number: str, expire_yymm: str) -> str:
    """Duplicate detection key: first 6 + last 4 digits and the expiry. Given a full number by mistake, the middle
    digits are still dropped, so a fingerprint never holds more than the provider's masked form."""
    compact = "".join(masked_number.split())
    return f"{compact[:6]}******{compact[-4:]}:{expire_yymm}"
