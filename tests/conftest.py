"""Shared fixtures: a real Mosquitto broker and a real PostgreSQL, one each per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import Mosquitto, Postgres
from tests.web.browser import browser, offline_page, shot  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """A Mosquitto 2 broker on a free loopback port (``.url``, ``.port``, ``.restart()``)."""
    broker = Mosquitto().start()
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster on a free loopback port; ``.new_database()`` per test."""
    pg = Postgres().start()
    try:
        yield pg
    finally:
        pg.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    pg: Postgres = request.getfixturevalue("postgres")
    return pg.new_database()
