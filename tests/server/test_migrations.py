"""The packaged migrations build exactly the models' schema, and go down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import server.models  # noqa: F401 - every table on the metadata
from server.core.db import Base, downgrade, make_engine, upgrade


def test_migrations_match_models_and_round_trip(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        downgrade(db_url, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        upgrade(db_url)
        with engine.connect() as conn:
            assert "paid_lots" in inspect(conn).get_table_names()
    finally:
        engine.dispose()
