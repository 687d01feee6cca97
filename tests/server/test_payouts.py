"""Payout runs: late lots, paid exactly once (by the database), adjustments, export, audit."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from server.audit.models import AuditEntry
from server.core.db import session_scope
from server.payouts.models import PaidLot
from tests.server.conftest import base_bundle, contract, lot, lot_id

C = "coop-a"
F1 = f"{C}-F1"


def _seed(load) -> None:
    doc = base_bundle()
    doc["farmers"][0]["bank_account"] = "6222 0212 3456 7890"
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1000}, premium="0")]
    doc["lots"] = [
        lot(1, F1, net_g=1000, captured_at="2026-03-02T02:00:00Z"),
        lot(2, F1, net_g=2000, captured_at="2026-03-10T02:00:00Z"),
    ]
    load(doc)


def _run(client, headers, start="2026-03-01", end="2026-03-15"):
    res = client.post(
        "/api/v1/payouts/runs", json={"cooperative": C, "from": start, "to": end}, headers=headers
    )
    assert res.status_code == 201, res.text
    return res.json()


def test_late_lot_after_approval_lands_in_next_run_flagged_and_never_twice(
    load, client, make_user
) -> None:
    _seed(load)
    rev = make_user("rev", "reviewer", C)
    rev2 = make_user("rev2", "reviewer", C)  # four-eyes: another reviewer approves
    first = _run(client, rev)
    assert first["lines"] == [
        {
            "farmer": F1,
            "lots": 2,
            "net_g": 3000,
            "amount_fen": 3000,
            "adjustments_fen": 0,
            "total_fen": 3000,
        }
    ]
    res = client.post(f"/api/v1/payouts/runs/{first['run']}/approve", headers=rev2)
    assert res.status_code == 200, res.text
    # An offline station syncs a lot from 5 March after the first period was approved.
    load({"lots": [lot(3, F1, net_g=500, captured_at="2026-03-05T02:00:00Z")]})
    second = _run(client, rev, "2026-03-16", "2026-03-31")
    assert second["late"] == [lot_id(3)]
    assert second["lines"][0]["lots"] == 1
    assert second["lines"][0]["amount_fen"] == 500
    res = client.get(f"/api/v1/payouts/runs/{second['run']}/lines/{F1}/lots", headers=rev)
    assert [(x["id"], x["late"]) for x in res.json()] == [(lot_id(3), True)]
    assert res.json()[0]["parts"][0]["explanation"] == "无市场价；保底价 10.00 → 10.00 元/kg"
    assert (
        client.post(f"/api/v1/payouts/runs/{second['run']}/approve", headers=rev2).status_code
        == 200
    )
    third = _run(client, rev, "2026-03-01", "2026-04-30")
    assert third["lines"] == []


def test_a_lot_is_paid_once_even_across_drafts(load, client, make_user, sessions) -> None:
    _seed(load)
    rev = make_user("rev", "reviewer", C)
    rev2 = make_user("rev2", "reviewer", C)  # four-eyes: another reviewer approves
    a = _run(client, rev)
    b = _run(client, rev)  # a second draft over the same lots
    assert client.post(f"/api/v1/payouts/runs/{a['run']}/approve", headers=rev2).status_code == 200
    res = client.post(f"/api/v1/payouts/runs/{b['run']}/approve", headers=rev2)
    assert res.status_code == 409
    assert res.json()["error"] == "already_paid"
    assert {d["run"] for d in res.json()["detail"]} == {a["run"]}
    assert client.get(f"/api/v1/payouts/runs/{b['run']}", headers=rev).json()["status"] == "draft"
    # The database itself refuses to pay a lot twice, whatever the code does.
    with pytest.raises(DBAPIError), session_scope(sessions) as s:
        s.add(
            PaidLot(
                lot_id=uuid.UUID(lot_id(1)),
                run_id=b["run"],
                farmer_id=F1,
                net_g=1000,
                amount_fen=1000,
                late=False,
                approved_at=datetime.now(UTC),
            )
        )
    # And what an approved run paid cannot be changed or deleted.
    with pytest.raises(DBAPIError), session_scope(sessions) as s:
        s.execute(update(PaidLot).where(PaidLot.run_id == a["run"]).values(amount_fen=1))
    with pytest.raises(DBAPIError), session_scope(sessions) as s:
        s.execute(delete(PaidLot))
    with sessions() as s:
        amounts = list(s.scalars(select(PaidLot.amount_fen).where(PaidLot.run_id == a["run"])))
    assert sorted(amounts) == [1000, 2000]


def test_adjust_approve_export_paid_and_audit(load, client, make_user, sessions) -> None:
    _seed(load)
    rev = make_user("rev", "reviewer", C)
    rev2 = make_user("rev2", "reviewer", C)  # four-eyes: another reviewer approves
    run = _run(client, rev)
    rid = run["run"]
    res = client.post(
        f"/api/v1/payouts/runs/{rid}/adjustments",
        json={"farmer": F1, "amount_fen": -250, "reason": "上期多付 overpaid in February"},
        headers=rev,
    )
    assert res.status_code == 201, res.text
    assert res.json()["lines"][0]["adjustments_fen"] == -250
    assert res.json()["lines"][0]["total_fen"] == 2750
    adj = res.json()["adjustments"]
    assert [(a["farmer"], a["amount_fen"], a["reason"], a["created_by"]) for a in adj] == [
        (F1, -250, "上期多付 overpaid in February", "rev")
    ]
    # Export before approval is refused.
    assert client.post(f"/api/v1/payouts/runs/{rid}/export", headers=rev).status_code == 409
    assert client.post(f"/api/v1/payouts/runs/{rid}/approve", headers=rev2).status_code == 200
    # Approved is immutable: no more adjustments, no discarding.
    res = client.post(
        f"/api/v1/payouts/runs/{rid}/adjustments",
        json={"farmer": F1, "amount_fen": 100, "reason": "x"},
        headers=rev,
    )
    assert res.status_code == 409
    assert client.post(f"/api/v1/payouts/runs/{rid}/discard", headers=rev).status_code == 409
    res = client.post(f"/api/v1/payouts/runs/{rid}/export?format=csv", headers=rev)
    assert res.status_code == 200
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[1][0] == F1
    assert rows[1][2] == "6222 0212 3456 7890"  # the bank batch carries the full account
    assert rows[1][7] == "27.50"
    assert rows[1][8] == "2750"
    res = client.post(f"/api/v1/payouts/runs/{rid}/export?format=xlsx", headers=rev)
    ws = load_workbook(io.BytesIO(res.content)).active
    assert ws is not None
    assert ws.cell(row=2, column=9).value == 2750
    assert client.post(f"/api/v1/payouts/runs/{rid}/paid", headers=rev).json()["status"] == "paid"
    # The farmer list shows the account masked.
    res = client.get(f"/api/v1/farmers/{F1}", headers=rev)
    assert res.json()["bank_account_masked"] == "**** **** **** 7890"
    assert "bank_account" not in res.json()
    with sessions() as s:
        actions = [
            (e.actor, e.action)
            for e in s.scalars(
                select(AuditEntry).where(AuditEntry.entity_id == str(rid)).order_by(AuditEntry.id)
            )
        ]
    assert actions == [
        ("rev", "payout_run_created"),
        ("rev", "payout_adjusted"),
        ("rev2", "payout_run_approved"),
        ("rev", "payout_run_exported"),
        ("rev", "payout_run_exported"),
        ("rev", "payout_run_paid"),
    ]
    # Append-only: the database refuses to change or delete audit entries.
    with pytest.raises(DBAPIError), session_scope(sessions) as s:
        s.execute(text("UPDATE audit_log SET actor = 'someone else'"))
    with pytest.raises(DBAPIError), session_scope(sessions) as s:
        s.execute(text("DELETE FROM audit_log"))


def test_discarded_draft_frees_its_lots(load, client, make_user) -> None:
    _seed(load)
    rev = make_user("rev", "reviewer", C)
    rev2 = make_user("rev2", "reviewer", C)  # four-eyes: another reviewer approves
    a = _run(client, rev)
    assert client.post(f"/api/v1/payouts/runs/{a['run']}/discard", headers=rev).status_code == 200
    b = _run(client, rev)
    assert b["lines"][0]["lots"] == 2
    assert client.post(f"/api/v1/payouts/runs/{b['run']}/approve", headers=rev2).status_code == 200


def test_cli_approve_refuses_a_lot_already_paid(load, db_url, sessions, tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from gongfang.cli import app

    _seed(load)
    runner = CliRunner()
    args = [
        "payouts",
        "run",
        "--cooperative",
        C,
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-15",
        "--json",
        "--db",
        db_url,
    ]
    a = json.loads(runner.invoke(app, args).stdout)["run"]
    b = json.loads(runner.invoke(app, args).stdout)["run"]
    ok = runner.invoke(app, ["payouts", "approve", str(a), "--by", "张三", "--db", db_url])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["payouts", "approve", str(b), "--by", "张三", "--db", db_url])
    assert bad.exit_code == 1
    assert "paid exactly once" in bad.output
    with sessions() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "payout_run_approved")
        ).one()
    assert entry.actor == "张三"
    out = tmp_path / "bank.xlsx"
    res = runner.invoke(app, ["payouts", "export", str(a), "--out", str(out), "--db", db_url])
    assert res.exit_code == 0, res.output
    ws = load_workbook(out).active
    assert ws is not None
    assert ws.cell(row=2, column=9).value == 3000
    res = runner.invoke(app, ["payouts", "paid", str(a), "--by", "出纳", "--db", db_url])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app, ["payouts", "export", str(b), "--out", str(tmp_path / "x.csv"), "--db", db_url]
    )
    assert res.exit_code == 1
    assert "only an approved run" in res.output


def test_a_draft_that_changed_since_it_was_made_is_refused(
    load, client, make_user, sessions
) -> None:
    from server.lots.models import Lot

    _seed(load)
    rev = make_user("rev", "reviewer", C)
    rev2 = make_user("rev2", "reviewer", C)  # four-eyes: another reviewer approves
    run = _run(client, rev)
    # A lot whose transaction began before the run but committed after it (received_at
    # earlier than the run's creation): the draft would now hold more than was reviewed.
    load({"lots": [lot(7, F1, net_g=700, captured_at="2026-03-03T02:00:00Z")]})
    with session_scope(sessions) as s:
        s.execute(
            update(Lot)
            .where(Lot.id == uuid.UUID(lot_id(7)))
            .values(received_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    res = client.post(f"/api/v1/payouts/runs/{run['run']}/approve", headers=rev2)
    assert res.status_code == 409
    assert "run it again" in res.json()["message"]
    again = _run(client, rev)
    assert again["lines"][0]["lots"] == 3
    assert (
        client.post(f"/api/v1/payouts/runs/{again['run']}/approve", headers=rev2).status_code == 200
    )


def test_unpriced_lot_reviewed_by_hand_is_paid_once(load, client, make_user, sessions) -> None:
    from server.aggregates.service import recount, stored

    _seed(load)
    load({"lots": [lot(5, f"{C}-F9", net_g=1500, captured_at="2026-03-04T02:00:00Z")]})
    rev = make_user("rev", "reviewer", C)
    op = make_user("op", "operator", C)
    body = {"unit_fen_per_kg": 801, "reason": "按收购站当日牌价 station board price"}
    assert client.post(f"/api/v1/lots/{lot_id(5)}/price", json=body, headers=op).status_code == 403
    first = _run(client, rev)
    assert first["unpriced"] == [lot_id(5)]
    res = client.post(f"/api/v1/lots/{lot_id(5)}/price", json=body, headers=rev)
    assert res.status_code == 200, res.text
    assert res.json()["amount_fen"] == 1202  # 1500 × 801 / 1000 = 1201.5 → 1202
    assert res.json()["parts"][0]["explanation"].startswith("人工定价 8.01 元/kg")
    again = client.post(f"/api/v1/lots/{lot_id(5)}/price", json=body, headers=rev)
    assert again.status_code == 409
    with sessions() as s:
        assert stored(session=s) == recount(session=s)
    run = _run(client, rev)
    assert run["unpriced"] == []
    assert {line["farmer"]: line["amount_fen"] for line in run["lines"]} == {
        F1: 3000,
        f"{C}-F9": 1202,
    }
