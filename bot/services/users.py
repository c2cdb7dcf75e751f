"""Who the user is: language and phone, saved once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.storage import update_scope, users
from bot.storage.models import User
from bot.storage.update_scope import UserRow
from bot.storage.user_rows import read_user

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
        """Within an update, what the update's first read brought (bot.storage.fsm reads it with the state), else
        the row in one read, remembered for the rest of the update."""
        scope = update_scope.current()
        if scope is not None and user_id in scope.users:
            row = scope.users[user_id]
            return Profile(*row) if row is not None else None
        row = await read_user(self._sessions.kw["bind"], user_id)  # one cheap read (with Redis: the update's only)
        if scope is not None:
            scope.users[user_id] = row
        return Profile(*row) if row is not None else None

    async def set_language(self, user_id: int, language: str) -> Profile:
        if language not in LANGUAGES:
            raise ValueError(language)
        async with self._sessions.begin() as session:
            user = await users.get_or_create(session, user_id)
            user.language = language
            return _remembered(_profile(user))

    async def set_phone(self, user_id: int, phone: str) -> Profile:
        normalized = "+" + "".join(ch for ch in phone if ch.isdigit())
        async with self._sessions.begin() as session:
            user = await users.get_or_create(session, user_id)
            user.phone = normalized
            return _remembered(_profile(user))


def _remembered(profile: Profile) -> Profile:
    """A change made by this update is what the rest of it reads."""
    scope = update_scope.current()
    if scope is not None:
        scope.users[profile.id] = UserRow(profile.id, profile.language, profile.phone)
    return profile


def _profile(user: User) -> Profile:
    return Profile(id=user.id, language=user.language, phone=user.phone)
