"""The sender's profile row (id, language, phone) in one read, past SQLAlchemy where it can (bot.storage.direct).

Every update reads it (bot.middlewares.user). With the conversation in our database it comes with the FSM state
(bot.storage.fsm); with the conversation in Redis it is this update's only read of the database, and an ORM
`Session.get` (a session, BEGIN, the statement, ROLLBACK, the identity map) cost more CPU than the lookup.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import direct_path, read_alone
from bot.storage.models import User
from bot.storage.update_scope import UserRow

# One row always (a LEFT JOIN from `(SELECT 1)`): the SQLite reader's None means "could not", never "no user".
POSTGRESQL_QUERY = "SELECT u.id, u.language, u.phone FROM (SELECT 1) AS one LEFT JOIN users AS u ON u.id = $1"
SQLITE_QUERY = "SELECT u.id, u.language, u.phone FROM (SELECT 1) AS one LEFT JOIN users AS u ON u.id = ?"
ENGINE_QUERY = select(User.id, User.language, User.phone).where(User.id == bindparam("user_id"))


async def read_user(engine: AsyncEngine, user_id: int) -> UserRow | None:
    """The row as it is now; None when there is none. Through the engine, a statement on its own, when the direct
    path cannot (SQLite busy or its file not there, the asyncpg pool's connection broken)."""
    direct = direct_path(engine)
    row = None
    if direct is not None:
        if direct.sqlite is not None:
            row = direct.read_sqlite(SQLITE_QUERY, (user_id,))
        elif direct.postgresql:
            try:
                row = tuple(await direct.fetchrow(POSTGRESQL_QUERY, user_id))
            except Exception:  # noqa: BLE001 - whatever the driver raised, the engine's path decides
                row = None
    if row is None:
        found = await read_alone(engine, ENGINE_QUERY, {"user_id": user_id})
        row = found[0] if found else (None, None, None)
    found_id, language, phone = row
    return UserRow(found_id, language, phone) if found_id is not None else None
