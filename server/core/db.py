"""Database plumbing: declarative base, column types, engines, sessions, migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every
transaction starts with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of
failing on a stale snapshot. PostgreSQL is used as is. The schema is created only by the
Alembic migrations shipped inside this package (:func:`upgrade`).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, Table, create_engine, event, insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table (models are imported by :mod:`server.models`)."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps no zone itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path | None:
    db = make_url(url).database
    return None if not db or db == ":memory:" else Path(db)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; on SQLite: WAL, foreign keys, ``BEGIN IMMEDIATE``."""
    if not is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the lock up front: no read-then-upgrade races between workers.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error (for jobs and the CLI)."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(url: str, field_keys: Sequence[str] | None = None) -> Any:
    from alembic.config import Config

    import server.migrations as migrations_pkg

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations_pkg.__file__).parent))
    cfg.attributes["url"] = url
    # Migrations that seal or open farmers' values (0009) use these; without them they
    # read the key from the environment.
    cfg.attributes["field_keys"] = list(field_keys) if field_keys else None
    return cfg


def upgrade(url: str, revision: str = "head", *, field_keys: Sequence[str] | None = None) -> None:
    """Bring the database at ``url`` to ``revision`` with the packaged Alembic scripts."""
    from alembic import command

    command.upgrade(_alembic_config(url, field_keys), revision)


def downgrade(url: str, revision: str, *, field_keys: Sequence[str] | None = None) -> None:
    """Take the database at ``url`` back to ``revision`` (``"base"``: no tables)."""
    from alembic import command

    command.downgrade(_alembic_config(url, field_keys), revision)


def dialect_insert(session: Session) -> Any:
    """The dialect's ``insert`` (with ``on_conflict_do_update``) for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def in_values(session: Session, column: Any, values: Iterable[Any]) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one parameter, so
    the statement text (and its plan) does not change with the number of values."""
    items = list(values)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import any_, literal
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(literal(items, ARRAY(column.type)))
    return column.in_(items)


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction; ``COPY`` on PostgreSQL.

    Every row must have the same keys. COPY skips per-statement parsing and parameter
    binding, which is most of the cost of a 500-row ingestion batch.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    cols = list(rows[0])
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    dbapi_conn = session.connection().connection.driver_connection
    if dbapi_conn is None:  # pragma: no cover - a live session always has one
        raise RuntimeError("no database connection")
    import psycopg

    copy_sql = f"COPY {table.name} ({', '.join(cols)}) FROM STDIN"
    pick = operator.itemgetter(*cols)
    json_at = [n for n, c in enumerate(cols) if c in json_cols]
    # Rows often share one JSON value (the same grader, no items): encode each object once.
    encoded: dict[int, str] = {}

    def as_json(value: Any) -> str:
        text = encoded.get(id(value))
        if text is None:
            text = encoded[id(value)] = json.dumps(value)
        return text

    try:
        with dbapi_conn.cursor() as cur, cur.copy(copy_sql) as cp:
            for row in rows:
                values = list(pick(row)) if len(cols) > 1 else [row[cols[0]]]
                for n in json_at:
                    values[n] = as_json(values[n])
                cp.write_row(values)
    except psycopg.Error as exc:
        # Same exception classes as SQLAlchemy's own statements (IntegrityError for a
        # duplicate lot id), so callers handle COPY and INSERT alike.
        raise DBAPIError.instance(copy_sql, None, exc, psycopg.Error) from exc
