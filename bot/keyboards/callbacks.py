"""CallbackData factories. They carry local ids only: clients can forge callback data."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LanguageCb(CallbackData, prefix="lang"):
    code: str

