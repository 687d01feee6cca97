"""Alembic migrations shipped with the package (run them with server.core.db.upgrade)."""
