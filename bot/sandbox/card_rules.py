"""What the emulated providers check and show of a card number, in one place for all three. Kept apart from our
own rules (bot.domain.cards) on purpose: an emulator that shared our code would share our mistakes."""

from __future__ import annotations

import re

_LONG_DIGITS = re.compile(r"\d{12,19}")


def luhn(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        n = int(char) * (2 if index % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def mask_pan(number: str) -> str:
    """860031******0117, as the providers return a card."""
    return number[:6] + "******" + number[-4:]


def mask_digits(text: str) -> str:
    """Every long run of digits in a text masked like a card: for emulator ledgers printed in test failures."""
    return _LONG_DIGITS.sub(lambda m: mask_pan(m.group()), text)
