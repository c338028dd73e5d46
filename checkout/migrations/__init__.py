"""Alembic migrations of the checkout store."""
