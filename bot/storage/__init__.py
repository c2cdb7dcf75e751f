"""Persistence: SQLAlchemy models, repositories, migrations and the SQL FSM storage."""
