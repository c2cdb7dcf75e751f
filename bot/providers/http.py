"""The one shared HTTP client, with explicit timeouts."""

from __future__ import annotations

import httpx


def make_http_client(*, read: float = 10.0, connect: float = 3.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(read, connect=connect))
