"""Trust boundaries on the server: what a station key, a sign-in or an export may not bend."""

from __future__ import annotations

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.core.db import session_scope
from server.lots.models import Lot
from server.stations.service import issue_station_key
from tests.server.conftest import base_bundle, contract, lot, market, wire_lot


def _two_cooperatives(load) -> None:
    a, b = base_bundle("coop-a", "st-a"), base_bundle("coop-b", "st-b")
    for k in ("cooperatives", "stations", "farmers"):
        a[k] += b[k]
    a["contracts"] = [
        contract("CA", "coop-a-F1", floor={"extra": 1000}),
        contract("CB", "coop-b-F1", floor={"extra": 3000}),
    ]
    a["market_prices"] = [market("coop-a", "extra", "2026-03-02", 900),
                          market("coop-b", "extra", "2026-03-02", 900)]
    load(a)


def test_a_station_key_cannot_submit_another_cooperatives_farmer(load, sessions, client) -> None:
    _two_cooperatives(load)
    with session_scope(sessions) as s:
        key_a = issue_station_key(s, station_id="st-a")
    own = wire_lot(1, "coop-a-F1", net_g=10_000, captured_at="2026-03-02T02:00:00Z")
    foreign = wire_lot(2, "coop-b-F1", net_g=900_000, captured_at="2026-03-02T02:01:00Z")
    res = client.post("/api/v1/sync", json={"station": "st-a", "lots": [foreign, own]},
                      headers={"X-Api-Key": key_a})
    assert res.status_code == 200
    acks = {a["id"]: a for a in res.json()["lots"]}
    assert acks[own["id"]]["result"] == "accepted"  # the batch's other lots go on
    assert acks[foreign["id"]]["result"] == "invalid"
    assert "coop-b-F1" in acks[foreign["id"]]["message"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Lot)) == 1
        refused = s.scalars(select(AuditEntry).where(AuditEntry.action == "lots_refused")).all()
        assert len(refused) == 1
        assert refused[0].detail["lots"] == [foreign["id"]]
    assert 'gongfang_lots_refused_total{reason="cooperative_scope"}' in client.get("/metrics").text


def test_exports_neutralise_formulas_and_keep_numbers(load, client, make_user) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    doc = base_bundle()
    doc["farmers"][0]["name"] = '=HYPERLINK("http://evil.example","领钱")'
    doc["farmers"][0]["bank_account"] = "6222 0212 3456 7890"
    doc["contracts"] = [contract("C1", "coop-a-F1", floor={"extra": 1000}, premium="0")]
    doc["lots"] = [lot(1, "coop-a-F1", net_g=1000, captured_at="2026-03-02T02:00:00Z")]
    load(doc)
    rev = make_user("rev", "reviewer", "coop-a")
    run = client.post("/api/v1/payouts/runs",
                      json={"cooperative": "coop-a", "from": "2026-03-01", "to": "2026-03-15"},
                      headers=rev).json()["run"]
    client.post(f"/api/v1/payouts/runs/{run}/adjustments",
                json={"farmer": "coop-a-F1", "amount_fen": -250, "reason": "+扣款"}, headers=rev)
    assert client.post(f"/api/v1/payouts/runs/{run}/approve", headers=rev).status_code == 200
    body = client.post(f"/api/v1/payouts/runs/{run}/export", headers=rev).content.decode("utf-8-sig")
    row = list(csv.reader(io.StringIO(body)))[1]
    assert row[1] == '\'=HYPERLINK("http://evil.example","领钱")'
    assert row[6] == "-2.50"  # a negative amount is a number, not a formula
    assert row[8] == "750"
    xlsx = client.post(f"/api/v1/payouts/runs/{run}/export?format=xlsx", headers=rev).content
    ws = load_workbook(io.BytesIO(xlsx)).active
    cells = [c for c in ws[2]]
    assert cells[1].data_type == "s"
    assert cells[1].value.startswith("'=")
    assert cells[8].value == 750
    assert cells[8].data_type == "n"
