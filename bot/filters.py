"""Filters shared by several routers."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject


class Registered(Filter):
    """The sender chose a language and shared a phone; features are closed before that."""

    async def __call__(self, event: TelegramObject, profile: Any = None) -> bool:
        return bool(profile and profile.registered)
