"""One receipt, built once from a payment and shown two ways (the chat's text, a PNG picture), so both say the same.

Every value is plain text already in the user's language and our formats (bot.texts.formats); the renderers only
lay it out: the text one escapes it for HTML, the picture one draws it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    strong: bool = False  # bold in the text message (the account's values, the amount)


@dataclass(frozen=True)
class Receipt:
    status: str  # "paid": the picture's stamp colour
    title: str  # "Paid": the text's first line
    stamp: str  # "PAID": the picture's stamp
    heading: str  # "Payment receipt": the picture's caption line
    service: Row
    account: tuple[Row, ...]
    amount: Row
    details: tuple[Row, ...]  # card, date, references
    reference: str  # the one number support asks for
    time: str  # when it was paid, as shown in `details`

    @property
    def rows(self) -> tuple[Row, ...]:
        """Every row in the order the text shows them."""
        return (self.service, *self.account, self.amount, *self.details)
