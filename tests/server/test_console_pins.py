"""Console PINs set on the server (``gongfang server set-pin``) reach the operator's own
cooperative's stations with the directory, as Argon2 hashes; nobody else's."""

from __future__ import annotations

from typer.testing import CliRunner

from gongfang.cli import app as cli_app
from gongfang.pins import verify_pin
from server.core.db import session_scope
from server.stations.service import issue_station_key
from tests.server.conftest import base_bundle


def test_operator_pins_reach_their_cooperatives_stations(
    load, sessions, client, make_user, db_url
) -> None:
    load(base_bundle())
    load(base_bundle("coop-b", "st-b"))
    with session_scope(sessions) as s:
        key = issue_station_key(session=s, station_id="st-a")
    make_user("王芳", "operator", "coop-a")
    make_user("李明", "operator", "coop-a")  # no PIN: not listed
    make_user("赵审", "reviewer", "coop-a")
    make_user("外社", "operator", "coop-b")
    runner = CliRunner()
    for name, pin in (("王芳", "2468"), ("外社", "1357")):
        res = runner.invoke(cli_app, ["server", "set-pin", name, "--db", db_url], input=pin + "\n")
        assert res.exit_code == 0, res.output
    res = runner.invoke(cli_app, ["server", "set-pin", "赵审", "--db", db_url], input="2468\n")
    assert res.exit_code == 1  # a reviewer signs in on no console
    res = runner.invoke(cli_app, ["server", "set-pin", "王芳", "--db", db_url], input="12\n")
    assert res.exit_code == 2

    doc = client.get("/api/v1/station/directory", headers={"X-Api-Key": key}).json()
    ops = {o["name"]: o["pin_hash"] for o in doc["operators"]}
    assert list(ops) == ["王芳"]
    assert ops["王芳"].startswith("$argon2")
    assert "2468" not in ops["王芳"]
    assert verify_pin("2468", ops["王芳"])
    assert not verify_pin("2469", ops["王芳"])
