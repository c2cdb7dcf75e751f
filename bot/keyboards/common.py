"""The one pager every list uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
PAGE_SIZE = 8


def page_of(items: Sequence[T], page: int, size: int = PAGE_SIZE) -> tuple[list[tuple[int, T]], int, bool, bool]:
    """(indexed items of the page, the page actually shown, has previous, has next)."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    start = page * size
    chunk = list(enumerate(items))[start:start + size]
    return chunk, page, page > 0, page < pages - 1
