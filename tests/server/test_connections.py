"""The CLI and the app close their PostgreSQL connections when they are done."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from gongfang.cli import app as cli_app
from gongfang.settings import ServerSettings
from server.main import create_app
from tests.server.conftest import SECRET
from tests.services import Postgres


@pytest.fixture
def pg_url(postgres: Postgres) -> Iterator[str]:
    # With the collector off, a pool nobody closed keeps its connections open, so a
    # leak shows up in pg_stat_activity instead of being tidied away by chance.
    gc.disable()
    try:
        yield postgres.new_database()
    finally:
        gc.enable()


def _others(url: str) -> int:
    """Connections to ``url``'s database other than the one asking."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_cli_commands_leave_no_connection_open(pg_url: str) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        cli_app,
        [
            "server",
            "add-user",
            "审核员",
            "--role",
            "admin",
            "--password-stdin",
            "--db",
            pg_url,
        ],
        input="long-enough-pw\n",
    )
    assert ok.exit_code == 0, ok.output
    refused = runner.invoke(cli_app, ["server", "station-key", "nope", "--db", pg_url])
    assert refused.exit_code == 1, refused.output
    assert _others(pg_url) == 0


def test_server_shutdown_closes_its_pool(pg_url: str) -> None:
    app = create_app(ServerSettings.load(database_url=pg_url, secret_key=SECRET))
    with TestClient(app) as client:
        assert client.get("/healthz").json()["database"] == "postgresql"
        assert _others(pg_url) >= 1  # the pool keeps a connection while serving
    assert _others(pg_url) == 0
