"""What the schemathesis run (test_api_fuzz.py) found, kept as plain cases.

- Query dates and times given as numbers were read as Unix times (``?date_from=0`` was
  1970-01-01, answered 200): now 422.
- The bank export answered text/csv and XLSX but the document said application/json.
- Error answers (401/403/404/409/413/429, and 422 in our own shape) were missing from the
  document, so a client generated from it knew none of them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import base_bundle

COOP = "coop-a"


@pytest.fixture
def reviewer(load, make_user):
    load(base_bundle(COOP, "st-a"))
    return make_user("rev-a", "reviewer", COOP)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/lots?date_from=0",
        "/api/v1/lots?date_to=1.3695216484339847e-135",
        "/api/v1/market-prices?date_to=-1.5e-154",
        "/api/v1/aggregates/daily?date_from=0&date_to=1970-01-05",
        "/api/v1/aggregates/totals?date_from=1970-01-01&date_to=86400",
        "/api/v1/coldchain/climate?station=st-a&room=r1&start=0&end=2026-03-01T00:00:00Z",
    ],
)
def test_numbers_are_not_query_dates(client, reviewer, url: str) -> None:
    res = client.get(url, headers=reviewer)
    assert res.status_code == 422, res.text
    assert res.json()["error"] == "invalid"


def test_iso_query_dates_still_work(client, reviewer) -> None:
    res = client.get("/api/v1/lots?date_from=2026-03-01&date_to=2026-03-31", headers=reviewer)
    assert res.status_code == 200, res.text
    res = client.get(
        "/api/v1/coldchain/climate?station=st-a&room=r1"
        "&start=2026-03-01T00:00:00%2B08:00&end=2026-03-02T00:00:00Z",
        headers=reviewer,
    )
    assert res.status_code == 200, res.text


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


def test_document_lists_error_answers(client) -> None:
    doc = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in str(doc)
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    for method, path, op in _operations(doc):
        responses = op["responses"]
        headers = {p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"}
        if op.get("security") or "x-api-key" in headers:
            assert {"401", "403"} <= set(responses), (method, path)
        if "requestBody" in op:
            assert {"400", "413", "422"} <= set(responses), (method, path)
        for code, entry in responses.items():
            if code.startswith(("4", "5")):
                assert entry["content"]["application/json"]["schema"] == error_ref, (code, path)
    assert "401" in doc["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "404" in doc["paths"]["/api/v1/coldchain/climate"]["get"]["responses"]
    assert "404" in doc["paths"]["/api/v1/payouts/runs"]["post"]["responses"]


def test_export_documents_its_file_types(client) -> None:
    doc = client.get("/openapi.json").json()
    responses = doc["paths"]["/api/v1/payouts/runs/{run_id}/export"]["post"]["responses"]
    assert "503" in responses  # a field key that cannot open a bank account
    content = responses["200"]
    assert set(content["content"]) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
