"""Idempotency keys: what the user meant, long enough never to collide (128 bits), unique per user in the ledger.

A payment conversation carries a short flow id (in button data, to tell old buttons from current ones) and an
intent key (in FSM data, naming the payment the conversation will make). A button that pays from a fixed screen
(My homes "Pay the debt") derives both from what it shows, so two presses of it are one intent.
"""

from __future__ import annotations

import hashlib
import secrets

FLOW_BYTES = 4  # button data stays short: the flow only tells this conversation from older ones
INTENT_BYTES = 16


def new_flow() -> dict[str, str]:
    """A fresh conversation: its flow id and the intent key of the payment it may make."""
    return {"flow": secrets.token_hex(FLOW_BYTES), "intent": secrets.token_hex(INTENT_BYTES)}


def flow_for(*parts: object) -> dict[str, str]:
    """The same ids for the same parts: a second press of one button is the same intent, not a new payment."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return {"flow": digest[:2 * FLOW_BYTES], "intent": digest[-2 * INTENT_BYTES:]}
