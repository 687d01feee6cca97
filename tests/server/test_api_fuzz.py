"""Schemathesis over the server's OpenAPI document, as a reviewer, as an admin and signed out.

Every generated request must answer without a server error, with a status code the
document lists for the operation, a content type and body matching the documented ones,
and invalid input refused; signed out, every protected operation answers 401 or 403 (only
an undecodable or oversized body is refused for its form first). Generation is
derandomized (the same requests on every run) and bounded per operation so the module
stays within minutes; ``GF_FUZZ_EXAMPLES`` raises the bound for a deeper local hunt.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from gongfang.settings import ServerSettings
from server.auth.models import User
from server.auth.service import hash_password, make_token
from server.core.db import session_scope
from server.importer import import_bundle
from server.main import create_app
from server.stations.service import issue_station_key
from tests.server.conftest import SECRET, base_bundle, contract, lot, lot_id, market

COOP = "coop-a"
STATION = "st-a"
#: Generated cases per operation and identity: positive, negative, and positive again with
#: path parameters naming seeded rows (where the operation has path parameters).
EXAMPLES = int(os.environ.get("GF_FUZZ_EXAMPLES", "8"))  # more for a deeper local hunt
MIN_REQUESTS = 1000
IDENTITIES = ("reviewer", "admin", "anonymous")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class World:
    app: Any
    schema: Any
    headers: dict[str, dict[str, str]]
    station_key: str
    #: Path parameters naming seeded rows, so positive cases also reach found objects.
    known: dict[str, Any]
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)


def _seed(app: Any) -> tuple[dict[str, dict[str, str]], str, dict[str, Any]]:
    doc = base_bundle(COOP, STATION)
    doc["contracts"] = [contract(f"{COOP}-C1", f"{COOP}-F1", floor={"extra": 1000})]
    doc["market_prices"] = [market(COOP, "extra", "2026-03-02", 1200)]
    doc["lots"] = [
        lot(n, f"{COOP}-F1" if n % 2 else f"{COOP}-F9", net_g=1000 * n,
            captured_at=f"2026-03-0{n}T02:00:00Z")
        for n in range(1, 6)
    ]
    digest = hash_password("correct-horse-9")
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    known: dict[str, Any] = {"farmer_id": f"{COOP}-F1", "lot_id": lot_id(1), "station_id": STATION}
    with session_scope(app.state.sessions) as s:
        import_bundle(session=s, doc=doc)
        key = issue_station_key(session=s, station_id=STATION)
        for name, role, coop in (
            ("rev-a", "reviewer", COOP),
            ("admin", "admin", None),
            ("rev-a2", "second", COOP),  # approves the run rev-a makes (four eyes)
        ):
            user = User(
                name=name,
                role="reviewer" if role == "second" else role,
                cooperative_id=coop,
                password_hash=digest,
            )
            s.add(user)
            s.flush()
            token = make_token(user=user, secret=SECRET, ttl_minutes=600)
            headers[role] = {"Authorization": f"Bearer {token}"}
            known.setdefault("user_id", user.id)  # the reviewer (admins may disable them)
    with TestClient(app) as client:
        run = client.post(
            "/api/v1/payouts/runs",
            json={"cooperative": COOP, "from": "2026-03-01", "to": "2026-03-31"},
            headers=headers["reviewer"],
        )
        assert run.status_code == 201, run.text
        known["run_id"] = run.json()["run"]
        approved = client.post(
            f"/api/v1/payouts/runs/{known['run_id']}/approve", headers=headers.pop("second")
        )
        assert approved.status_code == 200, approved.text
    return headers, key, known


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("fuzz") / "server.db"
    extra: dict[str, Any] = {}
    if "field_key" in ServerSettings.model_fields:  # farmers' numbers sealed at rest
        extra["field_key"] = base64.urlsafe_b64encode(b"fuzz-field-key-0123456789abcdef!").decode()
    settings = ServerSettings.load(database_url=f"sqlite:///{db}", secret_key=SECRET, **extra)
    app = create_app(settings)
    headers, key, known = _seed(app)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield World(app=app, schema=schema, headers=headers, station_key=key, known=known)
    app.state.engine.dispose()


def _operations(world: World) -> list[Any]:
    return [result.ok() for result in world.schema.get_all_operations()]


def _protected(operation: Any) -> bool:
    raw = operation.definition.raw
    names = {p.get("name", "").lower() for p in raw.get("parameters", [])}
    return bool(raw.get("security")) or "x-api-key" in names


def _curl(case: Any, response: Any) -> str:
    body = response.content[:300].decode("utf-8", "replace")
    return f"{case.as_curl_command()}\n  -> {response.status_code} {body}"


def _undecodable(response: Any) -> bool:
    """Answered for a body that is not JSON (or not UTF-8), or too large, not for its fields."""
    if response.status_code == 413:
        return True
    try:
        doc = response.json()
    except ValueError:
        return False
    if response.status_code == 400:
        return "error parsing the body" in doc.get("message", "")
    if response.status_code == 422:
        return [d.get("type") for d in doc.get("detail") or []] == ["json_invalid"]
    return False


def _path_names(operation: Any) -> set[str]:
    return {p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"}


def _fuzz(
    world: World,
    identity: str,
    operation: Any,
    mode: GenerationMode,
    path: dict[str, Any] | None = None,
) -> None:
    headers = world.headers[identity]

    def one(case: Any) -> None:
        if identity != "anonymous" and mode is GenerationMode.POSITIVE and case.headers:
            if "x-api-key" in {k.lower() for k in case.headers}:
                case.headers = {**case.headers, "x-api-key": world.station_key}
        world.requests[identity] += 1
        label = f"{identity} {mode.value}{' seeded' if path else ''} {operation.label}"
        try:
            response = case.call(headers=headers)
            world.statuses[response.status_code] += 1
        except Exception as exc:  # noqa: BLE001 - the app raised: a server error, keep going
            world.failures.setdefault((label, "raised", type(exc).__name__), repr(exc)[:500])
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:  # collect every distinct failure, report them all
            for failure in group.exceptions:
                key = (label, type(failure).__name__, str(response.status_code))
                world.failures.setdefault(key, f"{failure}\n{_curl(case, response)}")
        if identity == "anonymous" and _protected(operation):
            # Refused for want of credentials; only a body that cannot be decoded at all
            # (FastAPI reads it before the dependencies run) or is over the limit is
            # refused for its form first.
            refused = response.status_code in (401, 403) or (
                mode is GenerationMode.NEGATIVE and _undecodable(response)
            )
            if not refused:
                world.failures.setdefault(
                    (label, "unprotected", str(response.status_code)),
                    f"answered {response.status_code} without credentials\n"
                    f"{_curl(case, response)}",
                )

    try:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path)
    except Exception as exc:  # noqa: BLE001 - a document schemathesis cannot generate from
        world.failures.setdefault((f"{identity} {operation.label}", "strategy", mode.value),
                                  repr(exc))
        return
    run = settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )(given(case=strategy)(one))
    try:
        run()
    except Unsatisfiable:
        pass  # nothing to negate (an operation without parameters)


@pytest.mark.parametrize("identity", IDENTITIES)
def test_fuzz(world: World, identity: str) -> None:
    for operation in _operations(world):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(world, identity, operation, mode)
        names = _path_names(operation)
        if names and names <= set(world.known):
            seeded = {name: world.known[name] for name in names}
            _fuzz(world, identity, operation, GenerationMode.POSITIVE, seeded)
    print(f"{identity}: {world.requests[identity]} requests")
    mine = sorted(item for item in world.failures.items() if item[0][0].startswith(identity))
    report = "\n\n".join(f"{key}: {text}" for key, text in mine)
    assert not report, report


def test_request_count(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    if len(world.requests) < len(IDENTITIES):
        pytest.skip("counts the whole module's requests (some identities were deselected)")
    total = sum(world.requests.values())
    with capsys.disabled():
        print(f"\nschemathesis: {total} generated requests ({dict(world.requests)}); "
              f"answers by status: {dict(sorted(world.statuses.items()))}")
    assert total >= MIN_REQUESTS
