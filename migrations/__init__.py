"""Alembic migrations; installed as etl.migrations (see pyproject.toml), run from here by `alembic`."""
