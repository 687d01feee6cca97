"""Farmers' bank accounts and phone numbers: sealed in the database, masked in the API,
opened only into the bank batch; key rotation; a wrong key is a clear error (both databases)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from gongfang.cli import app as cli_app
from gongfang.settings import ConfigError, ServerSettings
from server.core.db import make_engine
from server.core.errors import ImportFailed
from server.farmers.sealed import FieldCipher, FieldKeyError, mask_account, mask_phone
from server.importer import import_bundle
from server.main import create_app
from server.payouts.models import PayoutRun
from tests.server.conftest import SECRET, base_bundle, contract, env_cipher, lot

C = "coop-a"
F1 = f"{C}-F1"
ACCOUNT = "6222 0212 3456 7890"
PHONE = "13812345678"
SECRETS = ("0212 3456", "02123456", "6222", "12345678", "1234 5678")


def raw_farmers(db_url: str) -> list[dict[str, Any]]:
    """The farmers table as stored, every column (no ORM in between)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM farmers"))]
    finally:
        engine.dispose()


def assert_no_plaintext(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert "bank_account" not in row
        assert "phone" not in row
        for value in row.values():
            for secret in SECRETS:
                assert secret not in str(value), (secret, row)


def seed_run(load: Callable[[dict[str, Any]], Any], client: TestClient, make_user: Any) -> int:
    """F1 with account and phone, a lot, an approved run (two reviewers): its id."""
    doc = base_bundle()
    doc["farmers"][0].update(bank_account=ACCOUNT, phone=PHONE)
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1000}, premium="0")]
    doc["lots"] = [lot(1, F1, net_g=1000, captured_at="2026-03-02T02:00:00Z")]
    load(doc)
    rev, rev2 = make_user("rev", "reviewer", C), make_user("rev2", "reviewer", C)
    body = {"cooperative": C, "from": "2026-03-01", "to": "2026-03-15"}
    run = client.post("/api/v1/payouts/runs", json=body, headers=rev).json()["run"]
    assert client.post(f"/api/v1/payouts/runs/{run}/approve", headers=rev2).status_code == 200
    return int(run)


def test_masks() -> None:
    assert mask_account("6222 0212 3456 7890") == "**** **** **** 7890"
    assert mask_account("6217000010001234567") == "**** **** **** 4567"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "861****5678"
    assert mask_phone("0571-8888") == "****8888"
    assert mask_phone("123") == "****"
    assert mask_account(None) is None
    assert mask_phone("") is None


def test_rows_hold_no_plaintext_and_the_api_shows_masks(
    db_url: str, load: Any, client: TestClient, make_user: Any
) -> None:
    doc = base_bundle()
    doc["farmers"][0].update(bank_account=ACCOUNT, phone=PHONE)
    load(doc)
    admin = make_user("admin", "admin", None)
    body = {
        "id": "coop-a-F2", "name": "李", "cooperative": C,
        "bank_account": "6217 0000 1000 1234 567", "phone": "13912345678",
    }
    res = client.post("/api/v1/farmers", json=body, headers=admin)
    assert res.status_code == 201, res.text
    assert res.json()["bank_account_masked"] == "**** **** **** 4567"
    assert res.json()["phone_masked"] == "139****5678"
    rows = raw_farmers(db_url)
    assert_no_plaintext(rows)
    assert all("0000 1000" not in str(v) and "13912345678" not in str(v)
               for r in rows for v in r.values())
    f1 = next(r for r in rows if r["id"] == F1)
    assert f1["bank_account_masked"] == "**** **** **** 7890"
    assert f1["phone_masked"] == "138****5678"
    assert env_cipher().open(f1["bank_account_enc"], farmer=F1) == ACCOUNT
    assert env_cipher().open(f1["phone_enc"], farmer=F1) == PHONE
    res = client.get("/api/v1/farmers", headers=admin)
    assert res.status_code == 200
    for secret in (*SECRETS, "13912345678", "0000 1000"):
        assert secret not in res.text
    one = client.get(f"/api/v1/farmers/{F1}", headers=admin).json()
    assert one["bank_account_masked"] == "**** **** **** 7890"
    assert one["phone_masked"] == "138****5678"
    assert "bank_account" not in one
    assert "phone" not in one
    # A re-import without the phone keeps it; with "phone": null clears it.
    load({"farmers": [{"id": F1, "name": "王", "cooperative": C}]})
    assert client.get(f"/api/v1/farmers/{F1}", headers=admin).json()["phone_masked"]
    load({"farmers": [{"id": F1, "name": "王", "cooperative": C, "phone": None}]})
    assert client.get(f"/api/v1/farmers/{F1}", headers=admin).json()["phone_masked"] is None


def test_the_bank_batch_has_the_full_number(
    load: Any, client: TestClient, make_user: Any, sessions: sessionmaker[Session]
) -> None:
    run = seed_run(load, client, make_user)
    rev = make_user("rev3", "reviewer", C)
    res = client.post(f"/api/v1/payouts/runs/{run}/export?format=csv", headers=rev)
    assert res.status_code == 200
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[1][2] == ACCOUNT
    assert PHONE not in res.text  # the phone is not part of the bank batch
    res = client.post(f"/api/v1/payouts/runs/{run}/export?format=xlsx", headers=rev)
    ws = load_workbook(io.BytesIO(res.content)).active
    assert ws is not None
    assert ws.cell(row=2, column=3).value == ACCOUNT


def test_a_wrong_key_is_a_clear_error_and_exports_nothing(
    db_url: str, load: Any, client: TestClient, make_user: Any, app: Any,
    sessions: sessionmaker[Session],
) -> None:
    run = seed_run(load, client, make_user)
    # The server does not start on a key that cannot open what is stored.
    other = Fernet.generate_key().decode()
    with pytest.raises(ConfigError, match="cannot decrypt farmer coop-a-F1"):
        create_app(ServerSettings.load(database_url=db_url, secret_key=SECRET, field_key=other))
    # A key swapped under a running server: the export answers 503 with why, marks nothing.
    app.state.field_cipher = FieldCipher([other])
    rev = make_user("rev3", "reviewer", C)
    res = client.post(f"/api/v1/payouts/runs/{run}/export?format=csv", headers=rev)
    assert res.status_code == 503
    assert res.json()["error"] == "field_key"
    assert "field_keys_old" in res.json()["message"]
    with sessions() as s:
        stored = s.get(PayoutRun, run)
        assert stored is not None
        assert stored.status == "approved"


def test_rotation_keeps_everything_readable_and_the_old_key_alone_no_longer_reads(
    db_url: str, load: Any, client: TestClient, make_user: Any, app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = seed_run(load, client, make_user)
    app.state.engine.dispose()
    old = env_cipher()
    old_key = ServerSettings.load(database_url=db_url, secret_key=SECRET).field_keys()[0]
    new_key = Fernet.generate_key().decode()
    before = raw_farmers(db_url)
    # Step 1: the new key first, the old one kept; rotate.
    monkeypatch.setenv("GONGFANG_SERVER_FIELD_KEY", new_key)
    monkeypatch.setenv("GONGFANG_SERVER_FIELD_KEYS_OLD", old_key)
    res = CliRunner().invoke(cli_app, ["server", "rotate-field-key", "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "re-sealed 1 farmer" in res.output
    after = raw_farmers(db_url)
    assert_no_plaintext(after)
    f1_before = next(r for r in before if r["id"] == F1)
    f1 = next(r for r in after if r["id"] == F1)
    assert f1["bank_account_enc"] != f1_before["bank_account_enc"]
    new = FieldCipher([new_key])
    assert new.open(f1["bank_account_enc"], farmer=F1) == ACCOUNT
    assert new.open(f1["phone_enc"], farmer=F1) == PHONE
    with pytest.raises(FieldKeyError):
        old.open(f1["bank_account_enc"], farmer=F1)
    # Step 2: the old key removed; the server starts and the bank batch reads.
    monkeypatch.delenv("GONGFANG_SERVER_FIELD_KEYS_OLD")
    rotated = create_app(ServerSettings.load(database_url=db_url, secret_key=SECRET))
    try:
        with TestClient(rotated, raise_server_exceptions=False) as c:
            got = c.post(f"/api/v1/payouts/runs/{run}/export?format=csv",
                         headers=make_user("rev3", "reviewer", C))
            assert got.status_code == 200
            assert ACCOUNT in got.content.decode("utf-8-sig")
    finally:
        rotated.state.engine.dispose()
    # The old key alone no longer starts the server, nor rotates.
    monkeypatch.setenv("GONGFANG_SERVER_FIELD_KEY", old_key)
    res = CliRunner().invoke(cli_app, ["server", "rotate-field-key", "--db", db_url])
    assert res.exit_code == 1
    assert "cannot decrypt farmer coop-a-F1" in res.output


def test_import_without_a_key_refuses_contact_fields(sessions: sessionmaker[Session]) -> None:
    doc = base_bundle()
    doc["farmers"][0]["bank_account"] = ACCOUNT
    with sessions() as s, pytest.raises(ImportFailed) as err:
        import_bundle(session=s, doc=doc)
    assert "no field key" in err.value.errors[0]
    doc["farmers"][0].pop("bank_account")
    with sessions() as s:
        assert import_bundle(session=s, doc=doc).farmers == 2  # nothing to seal: no key needed


def test_new_field_key_prints_a_usable_key() -> None:
    res = CliRunner().invoke(cli_app, ["server", "new-field-key"])
    assert res.exit_code == 0
    key = res.stdout.strip().splitlines()[0]
    assert FieldCipher([key]).open(FieldCipher([key]).seal("x"), farmer="-") == "x"


def test_the_migration_seals_existing_rows_with_the_environments_key(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.core.db import downgrade, upgrade

    upgrade(db_url, "0008")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO cooperatives (id, name) VALUES ('c', '社')"))
            conn.execute(
                text(
                    "INSERT INTO farmers (id, cooperative_id, name, low_income, phone, "
                    "bank_account) VALUES ('f1', 'c', '王', false, :p, :a), "
                    "('f2', 'c', '陈', false, NULL, NULL)"
                ),
                {"p": PHONE, "a": ACCOUNT},
            )
        # No key anywhere: the upgrade stops before changing anything and says what to do.
        monkeypatch.delenv("GONGFANG_SERVER_FIELD_KEY")
        res = CliRunner().invoke(cli_app, ["server", "migrate", "--db", db_url])
        assert res.exit_code == 1
        assert "set GONGFANG_SERVER_FIELD_KEY" in res.output
        res = CliRunner().invoke(cli_app, ["server", "station-key", "st", "--db", db_url])
        assert res.exit_code == 1  # any command that migrates says the same, no traceback
        assert "set GONGFANG_SERVER_FIELD_KEY" in res.output
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0008"
            assert conn.scalar(text("SELECT bank_account FROM farmers WHERE id = 'f1'")) == ACCOUNT
        # With the key in the environment (as the operator runs it).
        key = Fernet.generate_key().decode()
        monkeypatch.setenv("GONGFANG_SERVER_FIELD_KEY", key)
        res = CliRunner().invoke(cli_app, ["server", "migrate", "--db", db_url])
        assert res.exit_code == 0, res.output
        rows = {r["id"]: r for r in raw_farmers(db_url)}
        assert_no_plaintext(list(rows.values()))
        cipher = FieldCipher([key])
        assert cipher.open(rows["f1"]["bank_account_enc"], farmer="f1") == ACCOUNT
        assert cipher.open(rows["f1"]["phone_enc"], farmer="f1") == PHONE
        assert rows["f1"]["bank_account_masked"] == "**** **** **** 7890"
        assert rows["f1"]["phone_masked"] == "138****5678"
        assert rows["f2"]["bank_account_enc"] is None
        assert rows["f2"]["phone_masked"] is None
        # And back down: the plain columns again, opened with the same key.
        downgrade(db_url, "0008", field_keys=[key])
        with engine.connect() as conn:
            got = conn.execute(text("SELECT phone, bank_account FROM farmers WHERE id = 'f1'"))
            assert tuple(got.one()) == (PHONE, ACCOUNT)
    finally:
        engine.dispose()


def test_an_update_seals_the_new_number_and_audits_only_field_names(
    db_url: str, load: Any, client: TestClient, make_user: Any, sessions: sessionmaker[Session]
) -> None:
    from sqlalchemy import select

    from server.audit.models import AuditEntry

    doc = base_bundle()
    doc["farmers"][0].update(bank_account=ACCOUNT, phone=PHONE)
    load(doc)
    admin = make_user("admin", "admin", None)
    res = client.patch(
        f"/api/v1/farmers/{F1}",
        json={"bank_account": "6217000010009999", "phone": None, "village": "三都村"},
        headers=admin,
    )
    assert res.status_code == 200, res.text
    assert res.json()["bank_account_masked"] == "**** **** **** 9999"
    assert res.json()["phone_masked"] is None
    assert res.json()["village"] == "三都村"
    assert res.json()["name"] == "王"  # untouched
    f1 = next(r for r in raw_farmers(db_url) if r["id"] == F1)
    assert "6217000010009999" not in str(f1)
    assert env_cipher().open(f1["bank_account_enc"], farmer=F1) == "6217000010009999"
    assert f1["phone_enc"] is None
    with sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "farmer_updated")).one()
    assert entry.detail == {"fields": ["bank_account", "phone", "village"]}
    bad = [
        ({"name": None}, 422), ({"bank_account": "ABC"}, 422), ({"low_income": 1}, 422),
        ({"id": "x"}, 422),
    ]
    for body, status in bad:
        assert client.patch(f"/api/v1/farmers/{F1}", json=body, headers=admin).status_code == status
    assert client.patch("/api/v1/farmers/nobody", json={}, headers=admin).status_code == 404
    rev = make_user("rev", "reviewer", C)
    assert client.patch(f"/api/v1/farmers/{F1}", json={}, headers=rev).status_code == 403
