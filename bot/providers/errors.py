"""One exception family for every provider, split by what the caller may conclude."""

from __future__ import annotations


class ProviderError(Exception):
    """Base: something other than a plain answer came back."""


class ProviderRejected(ProviderError):
    """The provider answered with its error envelope: the request was understood and nothing happened."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class ProviderUnavailable(ProviderError):
    """The request never arrived (connect failed): nothing happened; safe to say "try later"."""


class ProviderOutcomeUnknown(ProviderError):
    """Sent, but no answer (read timeout, dropped connection, 5xx): it may have happened. Check, never resend."""
