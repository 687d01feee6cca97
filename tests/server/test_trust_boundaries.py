"""Trust boundaries on the server: what a station key, a sign-in or an export may not bend."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.core.db import session_scope
from server.lots.models import Lot
from server.stations.service import issue_station_key
from tests.server.conftest import base_bundle, contract, lot, lot_id, market, wire_lot


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
        key_a = issue_station_key(session=s, station_id="st-a")
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
    rev, rev2 = make_user("rev", "reviewer", "coop-a"), make_user("rev2", "reviewer", "coop-a")
    run = client.post("/api/v1/payouts/runs",
                      json={"cooperative": "coop-a", "from": "2026-03-01", "to": "2026-03-15"},
                      headers=rev).json()["run"]
    client.post(f"/api/v1/payouts/runs/{run}/adjustments",
                json={"farmer": "coop-a-F1", "amount_fen": -250, "reason": "+扣款"}, headers=rev)
    assert client.post(f"/api/v1/payouts/runs/{run}/approve", headers=rev2).status_code == 200
    res = client.post(f"/api/v1/payouts/runs/{run}/export", headers=rev)
    body = res.content.decode("utf-8-sig")
    row = list(csv.reader(io.StringIO(body)))[1]
    assert row[1] == '\'=HYPERLINK("http://evil.example","领钱")'
    assert row[6] == "-2.50"  # a negative amount is a number, not a formula
    assert row[8] == "750"
    xlsx = client.post(f"/api/v1/payouts/runs/{run}/export?format=xlsx", headers=rev).content
    ws = load_workbook(io.BytesIO(xlsx)).active
    assert ws is not None
    cells = list(ws[2])
    assert cells[1].data_type == "s"
    assert str(cells[1].value).startswith("'=")
    assert cells[8].value == 750
    assert cells[8].data_type == "n"


# Money, weight and flag fields take JSON integers/booleans of their own kind only.
STRICT_SYNC = [
    ("true as grams", {"gross_g": True, "tare_g": 0, "net_g": True}, "gross_g"),
    ("string grams", {"gross_g": "1200", "tare_g": 200, "net_g": 1000}, "gross_g"),
    ("float grams", {"gross_g": 1200.0, "tare_g": 200, "net_g": 1000}, "gross_g"),
]


@pytest.mark.parametrize(("name", "change", "where"), STRICT_SYNC, ids=[c[0] for c in STRICT_SYNC])
def test_sync_refuses_non_integer_weights(load, sessions, client, name, change, where) -> None:
    load(base_bundle())
    with session_scope(sessions) as s:
        key = issue_station_key(session=s, station_id="st-a")
    doc = {**wire_lot(1, "coop-a-F1", net_g=1000, captured_at="2026-03-02T02:00:00Z"), **change}
    res = client.post("/api/v1/sync", json={"station": "st-a", "lots": [doc]},
                      headers={"X-Api-Key": key})
    assert res.status_code == 422
    assert where in res.json()["message"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Lot)) == 0


def test_a_price_of_true_is_refused_and_the_lot_stays_unpriced(load, client, make_user,
                                                                sessions) -> None:
    doc = base_bundle()
    doc["lots"] = [lot(5, "coop-a-F9", net_g=900_000, captured_at="2026-03-02T02:00:00Z")]
    load(doc)  # F9 has no contract: the lot waits for review
    rev = make_user("rev", "reviewer", "coop-a")
    for bad in (True, "1440", 14.4, -1, 10**30):
        res = client.post(f"/api/v1/lots/{lot_id(5)}/price",
                          json={"unit_fen_per_kg": bad, "reason": "test"}, headers=rev)
        assert res.status_code == 422, (bad, res.text)
    with sessions() as s:
        stored = s.get(Lot, uuid.UUID(lot_id(5)))
        assert stored is not None
        assert stored.amount_fen is None


def test_the_importer_refuses_true_and_strings(load) -> None:
    from server.core.errors import ImportFailed

    doc = base_bundle()
    doc["contracts"] = [{**contract("C1", "coop-a-F1"), "reject_fen_per_kg": True}]
    doc["market_prices"] = [{**market("coop-a", "extra", "2026-03-02", 900), "fen_per_kg": "900"}]
    doc["farmers"][0]["low_income"] = "yes"
    with pytest.raises(ImportFailed) as err:
        load(doc)
    text = " ".join(err.value.detail)
    for field in ("reject_fen_per_kg", "fen_per_kg", "low_income"):
        assert field in text


def test_ids_beyond_64_bits_are_a_4xx_not_a_500(client, make_user) -> None:
    rev = make_user("adm", "admin")
    for path in (f"/api/v1/payouts/runs/{2**63}", f"/api/v1/payouts/runs/{2**64 + 5}",
                 "/api/v1/payouts/runs/0"):
        assert client.get(path, headers=rev).status_code == 422, path


def test_mqtt_readings_with_true_or_strings_are_bad_payloads() -> None:
    from gongfang import wire

    topic = "gf/v1/st-a/scale/1/reading"
    _t, good = wire.parse_payload(topic, b'{"ts_ms": 1, "gross_g": 1500, "seq": 1, "status": "ok"}')
    assert good.gross_g == 1500
    for bad in (b'{"ts_ms": 1, "gross_g": "1500", "seq": 1, "status": "ok"}',
                b'{"ts_ms": 1, "gross_g": true, "seq": 1, "status": "ok"}',
                b'{"ts_ms": 1, "gross_g": 1500, "seq": 1, "stable": "yes", "status": "ok"}'):
        with pytest.raises(wire.PayloadError):
            wire.parse_payload(topic, bad)


def _one_run(load, client, make_user, *, allow_self: bool) -> tuple[int, dict, dict]:
    doc = base_bundle()
    doc["cooperatives"][0]["allow_self_approval"] = allow_self
    doc["contracts"] = [contract("C1", "coop-a-F1", floor={"extra": 1000}, premium="0")]
    doc["lots"] = [lot(1, "coop-a-F1", net_g=1000, captured_at="2026-03-02T02:00:00Z")]
    load(doc)
    rev, rev2 = make_user("rev", "reviewer", "coop-a"), make_user("rev2", "reviewer", "coop-a")
    run = client.post("/api/v1/payouts/runs",
                      json={"cooperative": "coop-a", "from": "2026-03-01", "to": "2026-03-15"},
                      headers=rev).json()["run"]
    return run, rev, rev2


def _approvals(sessions) -> list[dict]:
    with sessions() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "payout_run_approved"))
        return [r.detail for r in rows]


def test_four_eyes_the_creator_cannot_approve_alone(load, client, make_user, sessions) -> None:
    run, rev, rev2 = _one_run(load, client, make_user, allow_self=False)
    res = client.post(f"/api/v1/payouts/runs/{run}/approve", headers=rev)
    assert res.status_code == 403
    assert "another reviewer" in res.json()["message"]
    assert client.get(f"/api/v1/payouts/runs/{run}", headers=rev).json()["status"] == "draft"
    assert _approvals(sessions) == []
    assert client.post(f"/api/v1/payouts/runs/{run}/approve", headers=rev2).status_code == 200
    assert [a["self_approved"] for a in _approvals(sessions)] == [False]


def test_a_one_person_cooperative_may_approve_its_own_run_and_it_is_audited(
    load, client, make_user, sessions
) -> None:
    run, rev, _rev2 = _one_run(load, client, make_user, allow_self=True)
    assert client.post(f"/api/v1/payouts/runs/{run}/approve", headers=rev).status_code == 200
    (entry,) = _approvals(sessions)
    assert entry["self_approved"] is True
    assert entry["created_by"] == "rev"
