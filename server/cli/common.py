"""What every ``gongfang server``/``payouts`` command shares: the ``--db`` option, a unit of
work on the migrated database, and leaving with a message on stderr."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="数据库 URL / database URL (default: the embedded SQLite database)"),
]
ConfigOpt = Annotated[Path | None, typer.Option(help="TOML 配置文件 / config file")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Say ``message`` on stderr; raise the result to leave with ``code``."""
    typer.echo(message, err=True)
    return typer.Exit(code)


@contextmanager
def db_session(db: str | None, *, field_keys: Sequence[str] | None = None) -> Iterator[Session]:
    """One unit of work on ``db`` (migrated first); its connections are closed afterwards."""
    from server.core.config import default_db_url
    from server.core.db import make_engine, session_factory, session_scope, upgrade

    url = db or default_db_url()
    try:
        # Without field_keys a migration needing the field key reads it from the environment.
        upgrade(url, field_keys=field_keys)
    except RuntimeError as exc:  # e.g. 0009: plain numbers to seal and no key (says so)
        raise fail(str(exc)) from None
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            yield session
    finally:
        # Close the pool: commands also run in-process (tests, the demo), where a
        # forgotten pool keeps PostgreSQL connections open until garbage collection.
        engine.dispose()


@contextmanager
def refusing(db: str | None, *, with_detail: bool = False) -> Iterator[Session]:
    """:func:`db_session` where a refused domain action leaves with its message (and its
    detail as JSON when ``with_detail``); nothing of it is stored."""
    from server.core.errors import DomainError

    try:
        with db_session(db) as session:
            yield session
    except DomainError as exc:
        detail = ""
        if with_detail and exc.detail:
            detail = f"\n{json.dumps(exc.detail, ensure_ascii=False)}"
        raise fail(exc.message + detail) from None
