"""Passbook tokens: stored as SHA-256 only, one farmer's data per token, revocable per farmer
(also for tokens that reach the server late), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from gongfang.cli import app as cli_app
from gongfang.wire import LotRecord, new_passbook_token
from server.core.db import session_scope
from server.passbook.models import PassbookToken
from server.passbook.service import open_token, revoke_farmer, token_hash
from server.stations.service import issue_station_key
from tests.server.conftest import base_bundle, contract, lot_id, market, wire_lot

A, B = "coop-a", "coop-b"
WHEN = "2026-03-02T02:00:00Z"
LATER = "2026-03-03T02:00:00Z"


@pytest.fixture
def world(load, sessions) -> dict[str, Any]:
    for coop, station in ((A, "st-a"), (B, "st-b")):
        load(base_bundle(coop, station))
    with session_scope(sessions) as s:
        keys = {st: issue_station_key(session=s, station_id=st) for st in ("st-a", "st-b")}
    return {"keys": keys}


def _sync(client, world, station: str, lots: list[dict[str, Any]]) -> list[str]:
    client.cookies.clear()  # a station has no page cookies (a CSRF cookie would ask a token)
    res = client.post(
        "/api/v1/sync",
        json={"station": station, "lots": lots},
        headers={"X-Api-Key": world["keys"][station]},
    )
    assert res.status_code == 200, res.text
    return [a["result"] for a in res.json()["lots"]]


def _lot(n: int, farmer: str, token: str | None, **kw: Any) -> dict[str, Any]:
    doc = wire_lot(n, farmer, net_g=kw.pop("net_g", 1000), captured_at=kw.pop("when", WHEN), **kw)
    if token is not None:
        doc["passbook_token"] = token
    return doc


def test_token_is_stored_as_its_hash_only(client, world, sessions) -> None:
    token = new_passbook_token()
    assert len(token) >= 22  # 16 random bytes: 128 bits
    assert _sync(client, world, "st-a", [_lot(1, f"{A}-F1", token)]) == ["accepted"]
    with sessions() as s:
        row = s.scalars(select(PassbookToken)).one()
        assert row.token_sha256 == token_hash(token)
        assert str(row.lot_id) == lot_id(1)
        # the token itself is nowhere in the database: not in the lot, not in the audit log
        for table in ("lots", "passbook_tokens", "audit_log"):
            for r in s.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 - fixed names
                assert token not in " ".join(str(v) for v in r), table
        assert open_token(session=s, token=token) is not None
        assert open_token(session=s, token=token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert open_token(session=s, token="") is None
        assert open_token(session=s, token="x" * 500) is None


def test_resend_and_reused_token_are_harmless(client, world, sessions) -> None:
    token = new_passbook_token()
    assert _sync(client, world, "st-a", [_lot(1, f"{A}-F1", token)]) == ["accepted"]
    # the same lot again (its ack was lost): a duplicate, still one key
    assert _sync(client, world, "st-a", [_lot(1, f"{A}-F1", token)]) == ["duplicate"]
    # the token is not lot content: the same lot without it is the same lot
    assert _sync(client, world, "st-a", [_lot(1, f"{A}-F1", None)]) == ["duplicate"]
    # a faulty station reusing a token for another lot: the lot is stored, the key kept
    assert _sync(client, world, "st-a", [_lot(2, f"{A}-F9", token)]) == ["accepted"]
    with sessions() as s:
        rows = s.scalars(select(PassbookToken)).all()
        assert [str(r.lot_id) for r in rows] == [lot_id(1)]
        assert s.scalar(select(func.count()).select_from(PassbookToken)) == 1


def test_content_hash_ignores_the_token() -> None:
    doc = _lot(1, "F1", None)
    plain = LotRecord.model_validate(doc)
    keyed = LotRecord.model_validate({**doc, "passbook_token": new_passbook_token()})
    assert plain.content_hash() == keyed.content_hash()
    assert "passbook_token" not in keyed.public_doc()
    with pytest.raises(ValueError, match="passbook_token"):
        LotRecord.model_validate({**doc, "passbook_token": "short"})


def test_pages_show_one_farmer_only(client, world) -> None:
    t1, t9, tb = new_passbook_token(), new_passbook_token(), new_passbook_token()
    _sync(client, world, "st-a", [_lot(1, f"{A}-F1", t1), _lot(2, f"{A}-F9", t9)])
    _sync(client, world, "st-b", [_lot(3, f"{B}-F1", tb, station="st-b")])
    page = client.get(f"/p/{t1}")
    assert page.status_code == 200
    assert "王" in page.text
    assert lot_id(1)[:8] in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    lots = client.get(f"/p/{t1}/lots?season=2025")
    assert lots.status_code == 200
    assert lot_id(1) in lots.text
    assert lot_id(2) not in lots.text
    assert client.get(f"/p/{t1}/lots/{lot_id(1)}").status_code == 200
    # another farmer's lot under this token, malformed ids, other paths: the same 404 page
    for path in (
        f"/p/{t1}/lots/{lot_id(2)}",
        f"/p/{t1}/lots/{lot_id(3)}",
        f"/p/{t1}/lots/not-a-uuid",
        f"/p/{t1}/lots/{lot_id(2)}/photo.jpg",
        f"/p/{t1}/nothing/here",
        "/p/",
        "/p/" + "x" * 300,
    ):
        res = client.get(path)
        assert res.status_code == 404, path
        for secret in ("陈", "王", lot_id(1), lot_id(2), lot_id(3)):
            assert secret not in res.text, (path, secret)
        assert "没有找到" in res.text
    for bad in ("abc", "", "2025x", "１２"):  # a season that is not a year: this season
        assert client.get(f"/p/{t1}/payouts?season={bad}").status_code == 200


def test_revoke_by_staff_of_the_cooperative(client, world, make_user, sessions) -> None:
    t1, t2 = new_passbook_token(), new_passbook_token()
    _sync(client, world, "st-a", [_lot(1, f"{A}-F1", t1), _lot(2, f"{A}-F1", t2, when=LATER)])
    url = f"/api/v1/farmers/{A}-F1/passbook/revoke"
    client.cookies.clear()
    assert client.post(url).status_code == 401
    assert client.post(url, headers=make_user("op", "operator", A)).status_code == 403
    assert client.post(url, headers=make_user("rev-b", "reviewer", B)).status_code == 403
    assert client.get(f"/p/{t1}").status_code == 200  # refusals changed nothing
    client.cookies.clear()
    res = client.post(url, headers=make_user("rev-a", "reviewer", A))
    assert res.status_code == 200, res.text
    assert res.json() == {"farmer": f"{A}-F1", "revoked": 2}
    for t in (t1, t2):
        gone = client.get(f"/p/{t}")
        assert gone.status_code == 404
        assert "王" not in gone.text
    client.cookies.clear()
    admin = make_user("adm", "admin")
    unknown = client.post("/api/v1/farmers/nobody/passbook/revoke", headers=admin)
    assert unknown.status_code == 404
    # a new lot after the revocation gets a new, working link
    t3 = new_passbook_token()
    _sync(client, world, "st-a", [_lot(3, f"{A}-F1", t3, when="2099-01-01T00:00:00Z")])
    assert client.get(f"/p/{t3}").status_code == 200


def test_token_arriving_late_for_a_revoked_farmer_is_born_revoked(client, world, sessions) -> None:
    with session_scope(sessions) as s:
        assert revoke_farmer(session=s, farmer_id=f"{A}-F1", actor="test") == 0
    early, late = new_passbook_token(), new_passbook_token()
    # an offline station sends a lot weighed before the revocation, and one after it
    _sync(
        client,
        world,
        "st-a",
        [_lot(1, f"{A}-F1", early), _lot(2, f"{A}-F1", late, when="2099-01-01T00:00:00Z")],
    )
    assert client.get(f"/p/{early}").status_code == 404
    assert client.get(f"/p/{late}").status_code == 200


def test_cli_revokes(client, world, settings) -> None:
    token = new_passbook_token()
    _sync(client, world, "st-a", [_lot(1, f"{A}-F1", token)])
    res = CliRunner().invoke(
        cli_app, ["server", "revoke-passbook", f"{A}-F1", "--db", settings.database_url]
    )
    assert res.exit_code == 0, res.output
    assert "revoked 1 passbook link" in res.output
    assert client.get(f"/p/{token}").status_code == 404
    res = CliRunner().invoke(
        cli_app, ["server", "revoke-passbook", "nobody", "--db", settings.database_url]
    )
    assert res.exit_code == 1


def test_unpriced_lot_shows_the_stations_estimate_once_a_price_is_known(
    client, world, load
) -> None:
    # premium only, no floor, no market price yet: the server cannot price the lot
    load({"contracts": [contract("C1", f"{A}-F1", floor={}, premium="20")]})
    token = new_passbook_token()
    _sync(client, world, "st-a", [_lot(1, f"{A}-F1", token)])
    page = client.get(f"/p/{token}")
    assert "待定价" in page.text
    assert "暂时无法预估" in page.text
    assert "≈" not in page.text
    # the cooperative enters the day's market price: the lot stays unpriced (priced once,
    # on arrival) until review, and its page shows the station's estimate, labelled
    load({"market_prices": [market(A, "extra", "2026-03-02", 1200)]})
    page = client.get(f"/p/{token}")
    assert "收购站预估金额" in page.text
    assert "≈ 14.40 元" in page.text  # 1 kg × 12.00 × 1.20
    assert "合作社结算价" not in page.text
    client.cookies.set("gf_lang", "en")
    page = client.get(f"/p/{token}")
    assert "Station&#39;s estimate" in page.text or "Station's estimate" in page.text
    assert "market 12.00 × 1.20 = 14.40" in page.text
