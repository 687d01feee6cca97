"""Shared fixtures: a real Mosquitto broker and a real PostgreSQL, one each per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.photo_data import PHOTO_FIXTURES, require_photos
from tests.services import Mosquitto, Postgres
from tests.web.browser import browser, offline_page, shot  # noqa: F401 (fixtures)

# The server refuses to start without a key for the farmers' sealed fields (outside
# dev_mode); every test server, in-process or a child process, runs with this one.
TEST_FIELD_KEY = "dGVzdC1maWVsZC1rZXktMDEyMzQ1Njc4OWFiY2RlZiE="
os.environ.setdefault("GONGFANG_SERVER_FIELD_KEY", TEST_FIELD_KEY)


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


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests of the real photos skip (or fail in CI) before their fixtures run: from one
    place, so a clone without the photo sets reports one line for all of them."""
    if PHOTO_FIXTURES & set(getattr(item, "fixturenames", ())):
        require_photos()


@pytest.fixture(scope="session")
def photo_root() -> Path:
    """The photo sets' root folder (``$GONGFANG_DATA``, default ``../shared/data``)."""
    return require_photos()
