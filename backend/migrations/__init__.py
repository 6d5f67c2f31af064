"""Alembic migrations, run programmatically by `backend.migrate`."""
