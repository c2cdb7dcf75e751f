"""The one shared HTTP client for every provider, with explicit timeouts.

No base_url (each provider client joins its own) and no event hooks: nothing here may log a body.
"""

from __future__ import annotations

import httpx


def make_http_client(*, read: float = 10, connect: float = 3) -> httpx.AsyncClient:
    """`connect` short: a refused or unreachable provider is ProviderUnavailable quickly, while `read` (also
    write and pool) leaves a slow provider time to answer a payment."""
    return httpx.AsyncClient(timeout=httpx.Timeout(read, connect=connect))
