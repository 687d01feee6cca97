"""Server fixtures: the real app on a real database (SQLite, then PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from gongfang.settings import FieldKeySettings, ServerSettings
from server.auth.models import User
from server.auth.service import hash_password, make_token
from server.core.db import session_scope
from server.farmers.sealed import FieldCipher
from server.importer import ImportReport, import_bundle
from server.main import create_app

SECRET = "test-secret-key-0123456789abcdef"
PASSWORD = "correct-horse-9"


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash for every test user (hashing is deliberately slow)."""
    return hash_password(PASSWORD)


@pytest.fixture
def settings(db_url: str) -> ServerSettings:
    return ServerSettings.load(database_url=db_url, secret_key=SECRET)


@pytest.fixture
def app(settings: ServerSettings) -> Iterator[Any]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def sessions(app: Any) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.state.sessions
    return factory


@pytest.fixture
def load(app: Any, sessions: sessionmaker[Session]) -> Callable[[dict[str, Any]], ImportReport]:
    """Import a bundle in its own transaction (as ``gongfang server import`` does)."""

    def _load(doc: dict[str, Any]) -> ImportReport:
        with session_scope(sessions) as s:
            return import_bundle(session=s, doc=doc, cipher=app.state.field_cipher)

    return _load


def env_cipher() -> FieldCipher:
    """The field cipher of the environment's keys (tests/conftest.py sets one)."""
    return FieldCipher(FieldKeySettings.load().field_keys())


@pytest.fixture
def make_user(
    sessions: sessionmaker[Session], settings: ServerSettings, password_hash: str
) -> Callable[..., dict[str, str]]:
    """Create a user and return bearer headers for it."""

    def _make(name: str, role: str, cooperative: str | None = None) -> dict[str, str]:
        with session_scope(sessions) as s:
            user = User(
                name=name, role=role, cooperative_id=cooperative, password_hash=password_hash
            )
            s.add(user)
            s.flush()
            token = make_token(user=user, secret=settings.secret_key, ttl_minutes=60)
        return {"Authorization": f"Bearer {token}"}

    return _make


def lot_id(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


def base_bundle(coop: str = "coop-a", station: str = "st-a") -> dict[str, Any]:
    """A cooperative with one station and farmers F1 (contract C1) and F9 (no contract)."""
    return {
        "cooperatives": [{"id": coop, "name": "合作社"}],
        "stations": [{"id": station, "cooperative": coop, "name": "收购站"}],
        "farmers": [
            {"id": f"{coop}-F1", "name": "王", "cooperative": coop, "low_income": True},
            {"id": f"{coop}-F9", "name": "陈", "cooperative": coop, "low_income": False},
        ],
    }


def contract(
    cid: str,
    farmer: str,
    *,
    signed_on: str = "2026-01-01",
    valid_from: str = "2026-01-01",
    valid_to: str = "2026-12-31",
    floor: dict[str, int] | None = None,
    premium: str | None = "20",
    quota_g: int | None = None,
    reject: int = 0,
    product: str = "strawberry",
) -> dict[str, Any]:
    return {
        "id": cid,
        "farmer": farmer,
        "product": product,
        "signed_on": signed_on,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "floor_fen_per_kg": floor or {},
        "premium_pct": premium,
        "quota_g": quota_g,
        "reject_fen_per_kg": reject,
    }


def market(
    coop: str, grade: str, day: str, fen: int, product: str = "strawberry"
) -> dict[str, Any]:
    return {"cooperative": coop, "product": product, "grade": grade, "date": day, "fen_per_kg": fen}


def lot(
    n: int,
    farmer: str,
    *,
    net_g: int,
    captured_at: str | datetime,
    grade: str = "extra",
    station: str = "st-a",
    product: str = "strawberry",
    tare_g: int = 200,
) -> dict[str, Any]:
    when = captured_at if isinstance(captured_at, str) else captured_at.isoformat()
    return {
        "id": lot_id(n),
        "station": station,
        "farmer": farmer,
        "product": product,
        "grade": grade,
        "gross_g": net_g + tare_g,
        "tare_g": tare_g,
        "captured_at": when,
    }


def wire_lot(n: int, farmer: str, **kw: Any) -> dict[str, Any]:
    """A LotRecord body as an edge sends it."""
    doc = lot(n, farmer, **kw)
    doc["net_g"] = doc["gross_g"] - doc["tare_g"]
    doc["graded_by"] = {"kind": "model", "model_name": "strawberry", "model_version": "1.0"}
    return doc
