"""What the ledger holds for a test to assert on: a user's payments and a payment's recorded moves."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import Payment, PaymentEvent


async def payments_of(app, user_id: int) -> list[Payment]:
    async with app.services.sessionmaker() as session:
        return list(await session.scalars(select(Payment).where(Payment.user_id == user_id).order_by(Payment.id)))


async def events_of(app, payment_id: int) -> list[tuple[str | None, str]]:
    async with app.services.sessionmaker() as session:
        rows = await session.scalars(
            select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id))
        return [(row.from_state, row.to_state) for row in rows]


async def states_of(app, payment_id: int) -> list[str]:
    """The states a payment went through, in order (status notes that changed nothing left out)."""
    return [to for before, to in await events_of(app, payment_id) if before != to]
