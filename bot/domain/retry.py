"""What "Try again" offers after a payment ended not paid.

The same card and amount again only repeat a refusal for money (Paylov's insufficient_funds and the card's daily
limit, Payme's -31303): then the user is offered another card or another amount instead. Any other failure (a code,
a provider fault) may well pass on a second try with the same card and amount.
"""

from __future__ import annotations

MONEY_REFUSALS = frozenset({"insufficient_funds", "daily_limit_used_for_this_card", "-31303"})


def refused_for_money(error_code: str | None) -> bool:
    return (error_code or "") in MONEY_REFUSALS
