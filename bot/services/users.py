"""Who the user is: language and phone, saved once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.storage import users
from bot.storage.models import User

LANGUAGES = ("uz", "ru", "en")


@dataclass(frozen=True)
class Profile:
    id: int
    language: str | None
    phone: str | None

    @property
    def registered(self) -> bool:
        return bool(self.language and self.phone)


def suggest_language(telegram_code: str | None) -> str:
    """Telegram's language_code is a hint only: Uzbek and Russian speakers often run English clients."""
    code = (telegram_code or "").split("-")[0].lower()
    return code if code in LANGUAGES else "en"


class UserService:
    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self._sessions = sessionmaker

    async def get(self, user_id: int) -> Profile | None:
        async with self._sessions() as session:
            user = await users.get(session, user_id)
            return _profile(user) if user else None

    async def set_language(self, user_id: int, language: str) -> Profile:
        if language not in LANGUAGES:
            raise ValueError(language)
        async with self._sessions.begin() as session:
            user = await users.get_or_create(session, user_id)
            user.language = language
            return _profile(user)

    async def set_phone(self, user_id: int, phone: str) -> Profile:
        normalized = "+" + "".join(ch for ch in phone if ch.isdigit())
        async with self._sessions.begin() as session:
            user = await users.get_or_create(session, user_id)
            user.phone = normalized
            return _profile(user)


def _profile(user: User) -> Profile:
    return Profile(id=user.id, language=user.language, phone=user.phone)
