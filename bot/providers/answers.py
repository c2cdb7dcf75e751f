"""Reading a provider's answer into our models, the same way for every provider."""

from __future__ import annotations

import functools
import logging
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from bot.providers.errors import ProviderOutcomeUnknown, ProviderThrottled, retry_after_seconds

logger = logging.getLogger(__name__)

SHORT_PAUSE = 3.0  # seconds of Retry-After a read waits out in place; longer ones are the caller's to schedule


@functools.cache
def _adapter(model: Any) -> TypeAdapter:
    return TypeAdapter(model)


def parse_answer(model: Any, data: Any, *, provider: str, call: str) -> Any:
    """Validate into the model; a shape we do not know is logged by location only (values may be card data)."""
    try:
        return _adapter(model).validate_python(data)
    except ValidationError as exc:
        where = ", ".join(f"{'.'.join(map(str, e['loc']))} {e['type']}" for e in exc.errors(include_input=False))
        raise bad_answer(provider, call, f"unexpected shape ({where})") from None


def bad_answer(provider: str, call: str, what: str) -> ProviderOutcomeUnknown:
    """Answered but unreadable: the call may have taken effect, so the caller checks rather than resends.
    Loud in the log, since it usually means the provider changed a field and its client needs a fix."""
    logger.error("%s %s answered %s", provider, call, what)
    return ProviderOutcomeUnknown(f"{provider} {call}: {what}")


def short_pause(response: httpx.Response, *, retry: bool) -> float | None:
    """After a 429: the seconds to wait before sending a read once more, or None when the caller must decide."""
    delay = retry_after_seconds(response.headers.get("Retry-After"))
    if not retry or delay is None or delay > SHORT_PAUSE:
        return None
    return delay


def throttled(call: str, response: httpx.Response) -> ProviderThrottled:
    """A 429 is a refusal before any work: nothing happened, ask again after Retry-After."""
    return ProviderThrottled(f"{call} answered 429", retry_after_seconds(response.headers.get("Retry-After")))
