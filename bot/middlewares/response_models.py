"""Keeps aiogram's `Response[T]` models alive for the life of the Bot.

aiogram parametrises `Response[method.__returning__]` for every Bot API reply, and pydantic 2 caches a parametrised
generic model only while something else references it (a WeakValueDictionary). Nothing does, so after each garbage
collection the next reply built the model class again: a third of all Bot API calls spent ~7 ms in pydantic's schema
builder, the largest single cost of an update. Holding one model per method type makes it one build per process.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType


class KeepResponseModels(BaseRequestMiddleware):
    def __init__(self) -> None:
        self._kept: dict[type, type] = {}

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> object:
        kind = type(method)
        if kind not in self._kept:
            self._kept[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)
