"""Alembic migrations of the SQL stores (run by ``store.upgrade_database``)."""
