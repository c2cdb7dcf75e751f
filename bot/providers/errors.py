"""One exception family for every provider, split by what the caller may conclude."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx


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

    @property
    def timed_out(self) -> bool:
        """No answer in time, as opposed to an answer we could not use (a 5xx, a broken body, a cut connection):
        the user is told "slow to answer" only for the first."""
        return isinstance(self.__cause__, httpx.TimeoutException)


class ProviderThrottled(ProviderUnavailable):
    """HTTP 429: the provider refused the request before doing anything; ask again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header: delay-seconds or an HTTP date (RFC 9110); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
