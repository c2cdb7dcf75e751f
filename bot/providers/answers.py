"""Reading a provider's answer into our models, the same way for every provider."""

from __future__ import annotations

import functools
import logging
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bot.providers.errors import ProviderOutcomeUnknown

logger = logging.getLogger(__name__)


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
