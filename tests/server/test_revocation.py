"""Issue 18, point 7: station keys revoked at once on every worker, users disabled, tokens
revoked on disable or password change, passwords never on the command line (SQLite and
PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from gongfang.cli import app as cli_app
from server.audit.models import AuditEntry
from server.auth.models import User
from server.core.db import session_scope
from server.lots.models import Lot
from server.stations.service import issue_station_key
from server.web.session import SESSION_COOKIE
from tests.server.conftest import PASSWORD, SECRET, base_bundle, contract, wire_lot

C = "coop-a"
F1 = f"{C}-F1"
NEW_PASSWORD = "a-new-password-7"


@contextmanager
def other_worker(settings: Any) -> Iterator[TestClient]:
    """A second app instance on the same database: another worker process's caches."""
    from server.main import create_app

    app = create_app(settings)
    try:
        with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
            yield c
    finally:
        app.state.engine.dispose()


def _batch(n: int) -> dict[str, Any]:
    return {
        "station": "st-a",
        "lots": [wire_lot(n, F1, net_g=1000, captured_at=f"2026-03-02T0{n}:00:00Z")],
    }


def _actions(sessions: Any, action: str) -> list[AuditEntry]:
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _user_id(client: TestClient, headers: dict[str, str]) -> int:
    res = client.get("/api/v1/me", headers=headers)
    assert res.status_code == 200, res.text
    return int(res.json()["id"])


def _token(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/token", data={"username": name, "password": password})


def _page_login(client: TestClient, name: str, password: str = PASSWORD, lang: str = "zh") -> Any:
    """Sign in on the page, in a browser of its own (the API clients keep no cookies)."""
    browser = TestClient(client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    browser.cookies.set("gf_lang", lang)
    browser.get("/coop/login")
    return browser.post(
        "/coop/login",
        data={"name": name, "password": password, "csrftoken": browser.cookies["csrftoken"]},
        follow_redirects=False,
    )


def _page(client: TestClient, cookie: str) -> Any:
    """A page opened with that session cookie, in a browser of its own on that worker."""
    browser = TestClient(client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    browser.cookies.set(SESSION_COOKIE, cookie)
    return browser.get("/coop/runs", follow_redirects=False)


# ------------------------------------------------------------------------- station keys


def test_revoked_station_key_stops_at_once_on_every_worker(
    load, sessions, client, settings, make_user
) -> None:
    doc = base_bundle()
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1000})]
    load(doc)
    with session_scope(sessions) as s:
        key = issue_station_key(session=s, station_id="st-a")
    admin = make_user("adm", "admin")
    reviewer = make_user("rev", "reviewer", C)
    h = {"X-Api-Key": key}
    assert client.post("/api/v1/sync", json=_batch(1), headers=h).json()["lots"][0]["result"] == (
        "accepted"
    )  # the key is cached in this worker now
    with other_worker(settings) as other:
        res = other.post("/api/v1/sync", json=_batch(1), headers=h)
        assert res.json()["lots"][0]["result"] == "duplicate"  # … and in the other one
        assert client.delete("/api/v1/stations/st-a/key", headers=reviewer).status_code == 403
        res = client.delete("/api/v1/stations/st-a/key", headers=admin)
        assert res.status_code == 200, res.text
        assert res.json()["has_key"] is False
        assert res.json()["key_revoked_at"] is not None
        for c in (client, other):
            res = c.post("/api/v1/sync", json=_batch(2), headers=h)
            assert res.status_code == 401, res.text
            assert c.get("/api/v1/station/directory", headers=h).status_code == 401
        with sessions() as s:
            assert len(list(s.scalars(select(Lot.id)))) == 1  # nothing of lot 2 stored
        revoked = _actions(sessions, "station_key_revoked")
        assert [(e.actor, e.entity_id) for e in revoked] == [("adm", "st-a")]
        # Revoking again: nothing to revoke. A new key brings the station back.
        assert client.delete("/api/v1/stations/st-a/key", headers=admin).status_code == 404
        assert client.delete("/api/v1/stations/nope/key", headers=admin).status_code == 404
        new = client.post("/api/v1/stations/st-a/key", headers=admin).json()["api_key"]
        res = other.post("/api/v1/sync", json=_batch(2), headers={"X-Api-Key": new})
        assert res.json()["lots"][0]["result"] == "accepted"
        listed = client.get("/api/v1/stations", headers=admin).json()
        assert listed[0]["has_key"] is True
        assert listed[0]["key_revoked_at"] is None
        assert other.post("/api/v1/sync", json=_batch(3), headers=h).status_code == 401


def test_cli_revokes_a_station_key(db_url, load, sessions, client) -> None:
    load(base_bundle())
    with session_scope(sessions) as s:
        key = issue_station_key(session=s, station_id="st-a")
    h = {"X-Api-Key": key}
    assert client.get("/api/v1/station/directory", headers=h).status_code == 200
    runner = CliRunner()
    res = runner.invoke(cli_app, ["server", "revoke-station-key", "st-a", "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "revoked" in res.output
    assert client.get("/api/v1/station/directory", headers=h).status_code == 401
    assert client.post("/api/v1/sync", json={"station": "st-a"}, headers=h).status_code == 401
    assert [e.actor for e in _actions(sessions, "station_key_revoked")] == ["cli"]
    res = runner.invoke(cli_app, ["server", "revoke-station-key", "st-a", "--db", db_url])
    assert res.exit_code == 1
    assert "has no key" in res.output
    res = runner.invoke(cli_app, ["server", "revoke-station-key", "nope", "--db", db_url])
    assert res.exit_code == 1
    assert "unknown station" in res.output


# ---------------------------------------------------------------------- users and tokens


def test_a_disabled_user_cannot_sign_in_and_their_tokens_stop_at_once(
    load, sessions, client, settings, make_user
) -> None:
    load(base_bundle())
    admin = make_user("adm", "admin")
    rev = make_user("rev", "reviewer", C)
    uid = _user_id(client, rev)
    cookie = _page_login(client, "rev").cookies[SESSION_COOKIE]
    with other_worker(settings) as other:
        assert other.get("/api/v1/me", headers=rev).status_code == 200
        assert _page(other, cookie).status_code == 200
        assert client.post(f"/api/v1/users/{uid}/disable", headers=rev).status_code == 403
        res = client.post(f"/api/v1/users/{uid}/disable", headers=admin)
        assert res.status_code == 200, res.text
        assert res.json()["disabled"] is True
        for c in (client, other):
            assert c.get("/api/v1/me", headers=rev).status_code == 401
            res = _page(c, cookie)
            assert res.status_code == 303  # the page sends them to sign in
            assert res.headers["location"].startswith("/coop/login")
        # The right password does not sign a disabled user in: not by the API, not by the page.
        res = _token(client, "rev")
        assert res.status_code == 401
        assert "disabled" in res.json()["message"]
        assert _token(client, "rev", "wrong-password").json()["message"].startswith("用户名或密码")
        res = _page_login(client, "rev", lang="en")
        assert res.status_code == 422
        assert 'id="name-error">This account is disabled: ask your administrator<' in res.text
        assert SESSION_COOKIE not in res.cookies
        assert client.post(f"/api/v1/users/{uid}/disable", headers=admin).status_code == 409
        users = client.get("/api/v1/users", headers=admin).json()
        assert {u["name"]: u["disabled"] for u in users} == {"adm": False, "rev": True}
        # Enabled again: a new sign-in works, the tokens from before stay revoked.
        res = client.post(f"/api/v1/users/{uid}/enable", headers=admin)
        assert res.status_code == 200
        assert res.json()["disabled"] is False
        assert client.post(f"/api/v1/users/{uid}/enable", headers=admin).status_code == 409
        assert other.get("/api/v1/me", headers=rev).status_code == 401
        assert _page(other, cookie).status_code == 303
        fresh = _token(other, "rev").json()["access_token"]
        assert other.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).json()[
            "name"
        ] == "rev"
    assert [e.actor for e in _actions(sessions, "user_disabled")] == ["adm"]
    assert [e.actor for e in _actions(sessions, "user_enabled")] == ["adm"]


def test_the_last_enabled_admin_cannot_be_disabled(client, make_user) -> None:
    admin = make_user("adm", "admin")
    me = _user_id(client, admin)
    res = client.post(f"/api/v1/users/{me}/disable", headers=admin)
    assert res.status_code == 409
    assert "last enabled admin" in res.json()["message"]
    assert client.post("/api/v1/users/99999/disable", headers=admin).status_code == 404
    assert client.post(f"/api/v1/users/{2**63}/disable", headers=admin).status_code == 422
    second = make_user("adm2", "admin")
    assert client.post(f"/api/v1/users/{me}/disable", headers=second).status_code == 200
    assert client.get("/api/v1/me", headers=admin).status_code == 401


def test_a_password_change_revokes_every_earlier_token(
    load, sessions, client, settings, make_user
) -> None:
    load(base_bundle())
    admin = make_user("adm", "admin")
    rev = make_user("rev", "reviewer", C)
    cookie = _page_login(client, "rev").cookies[SESSION_COOKIE]
    body = {"current_password": "not-my-password", "new_password": NEW_PASSWORD}
    res = client.post("/api/v1/me/password", json=body, headers=rev)
    assert res.status_code == 422
    assert "current password is wrong" in res.json()["message"]
    body = {"current_password": PASSWORD, "new_password": "short"}
    assert client.post("/api/v1/me/password", json=body, headers=rev).status_code == 422
    assert client.post("/api/v1/me/password", json={"new_password": NEW_PASSWORD}).status_code in (
        401,
        422,
    )
    assert client.get("/api/v1/me", headers=rev).status_code == 200  # nothing changed yet
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    with other_worker(settings) as other:
        assert other.get("/api/v1/me", headers=rev).status_code == 200
        res = client.post("/api/v1/me/password", json=body, headers=rev)
        assert res.status_code == 200, res.text
        new = {"Authorization": f"Bearer {res.json()['access_token']}"}
        for c in (client, other):
            assert c.get("/api/v1/me", headers=rev).status_code == 401
            assert c.get("/api/v1/me", headers=new).status_code == 200
            assert _page(c, cookie).status_code == 303
        assert _token(other, "rev").status_code == 401
        assert _token(other, "rev", NEW_PASSWORD).status_code == 200
        # An admin's reset revokes the tokens as well.
        uid = _user_id(client, new)
        reset = {"new_password": "reset-by-admin-1"}
        assert client.post(f"/api/v1/users/{uid}/password", json=reset, headers=rev).status_code
        res = client.post(f"/api/v1/users/{uid}/password", json=reset, headers=admin)
        assert res.status_code == 200, res.text
        assert other.get("/api/v1/me", headers=new).status_code == 401
        assert _token(client, "rev", "reset-by-admin-1").status_code == 200
    changes = _actions(sessions, "password_changed")
    assert [e.actor for e in changes] == ["rev", "adm"]
    assert all(NEW_PASSWORD not in json.dumps(e.detail) for e in changes)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def test_a_token_without_a_version_is_refused(client, make_user) -> None:
    """A token signed before versions existed (or with the claim cut out) is not accepted."""
    headers = make_user("adm", "admin")
    uid = _user_id(client, headers)
    claims = {"sub": uid, "name": "adm", "role": "admin", "coop": None, "exp": time.time() + 60}
    body = _b64(json.dumps(claims).encode())
    sig = _b64(hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest())
    res = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body}.{sig}"})
    assert res.status_code == 401


# ---------------------------------------------------------------------------- the CLI


def test_passwords_never_come_from_the_command_line(db_url, load, sessions, client) -> None:
    load(base_bundle())
    runner = CliRunner()
    args = ["server", "add-user", "rev", "--role", "reviewer", "--cooperative", C, "--db", db_url]
    res = runner.invoke(cli_app, [*args, "--password", PASSWORD])
    assert res.exit_code == 2  # no such option: a password in argv is in the process list
    with sessions() as s:
        assert s.scalars(select(User)).first() is None
    typed = f"{PASSWORD}\nsomething-else\n{PASSWORD}\n{PASSWORD}\n"
    res = runner.invoke(cli_app, args, input=typed)
    assert res.exit_code == 0, res.output  # the confirmation did not match: asked again
    assert PASSWORD not in res.output  # a hidden prompt
    token = _token(client, "rev").json()["access_token"]
    rev = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=rev).status_code == 200

    res = runner.invoke(
        cli_app, ["server", "set-password", "rev", "--password-stdin", "--db", db_url],
        input=f"{NEW_PASSWORD}\n",
    )
    assert res.exit_code == 0, res.output
    assert client.get("/api/v1/me", headers=rev).status_code == 401
    assert _token(client, "rev", NEW_PASSWORD).status_code == 200
    res = runner.invoke(
        cli_app, ["server", "set-password", "rev", "--password-stdin", "--db", db_url], input=""
    )
    assert res.exit_code == 2
    res = runner.invoke(
        cli_app, ["server", "set-password", "nobody", "--password-stdin", "--db", db_url],
        input=f"{NEW_PASSWORD}\n",
    )
    assert res.exit_code == 1
    assert "unknown user" in res.output
    res = runner.invoke(
        cli_app, ["server", "set-password", "rev", "--db", db_url], input="short\nshort\n"
    )
    assert res.exit_code == 1
    assert "at least 8" in res.output

    token = _token(client, "rev", NEW_PASSWORD).json()["access_token"]
    rev = {"Authorization": f"Bearer {token}"}
    res = runner.invoke(cli_app, ["server", "disable-user", "rev", "--db", db_url])
    assert res.exit_code == 0, res.output
    assert client.get("/api/v1/me", headers=rev).status_code == 401
    assert _token(client, "rev", NEW_PASSWORD).status_code == 401
    res = runner.invoke(cli_app, ["server", "disable-user", "rev", "--db", db_url])
    assert res.exit_code == 1
    res = runner.invoke(cli_app, ["server", "enable-user", "rev", "--db", db_url])
    assert res.exit_code == 0, res.output
    assert _token(client, "rev", NEW_PASSWORD).status_code == 200
    actions = [e.action for e in _actions(sessions, "user_disabled")]
    actions += [e.action for e in _actions(sessions, "user_enabled")]
    assert actions == ["user_disabled", "user_enabled"]
