"""The card's expiry between the expiry step and the number step, sealed so that no storage holds it as typed.

Paylov's createUserCard needs the number and the expiry together. The number is asked last and goes to the bank in
the update that brought it; the expiry has to wait one message, and it waits in the FSM data (shared by every
replica, so the next message may land anywhere) as a Fernet token: encrypted and authenticated with a key derived
from the bot token, readable for fifteen minutes. A dump of the database or Redis shows ciphertext only.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

EXPIRY_TTL = 900  # seconds the sealed expiry can be opened: time to find the card and wait for a code, not a day


class Sealer:
    def __init__(self, secret: str, *, purpose: str = "card-expiry", ttl: int = EXPIRY_TTL) -> None:
        key = hashlib.sha256(f"{purpose}\0{secret}".encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._ttl = ttl

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str | None) -> str | None:
        """The value, or None when it is missing, too old or was not sealed by us."""
        if not sealed:
            return None
        try:
            return self._fernet.decrypt(sealed.encode(), ttl=self._ttl).decode()
        except (InvalidToken, ValueError):
            return None

    def __repr__(self) -> str:
        return "Sealer(<key hidden>)"
