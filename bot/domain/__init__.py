"""Pure business rules: forms, money, cards, payment states, search. No aiogram, httpx or SQLAlchemy here, so
every rule is tested with plain case tables (tests/unit)."""
