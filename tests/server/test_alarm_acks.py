"""An alarm acknowledged on a station console reaches the server with who and when, and a
later copy (cleared, or from before the acknowledgement) never takes it back."""

from __future__ import annotations

from server.core.db import session_scope
from server.stations.service import issue_station_key
from tests.server.conftest import base_bundle

ALARM = "22222222-2222-4222-8222-222222222222"
BASE = {
    "id": ALARM,
    "station": "st-a",
    "room": "cold-1",
    "rule": "temp_high",
    "severity": "major",
    "started_at": "2026-03-02T02:00:00Z",
    "updated_at": "2026-03-02T02:20:00Z",
    "peak_value": 5.2,
    "message": "cold-1: 温度高于 4 °C 超过 20 分钟 / temperature above 4 °C for 20 min",
}


def test_alarm_ack_is_stored_and_kept(load, sessions, client, make_user) -> None:
    load(base_bundle())
    with session_scope(sessions) as s:
        key = issue_station_key(session=s, station_id="st-a")
    h = {"X-Api-Key": key}

    def send(alarm: dict[str, object]) -> str:
        res = client.post("/api/v1/sync", json={"station": "st-a", "alarms": [alarm]}, headers=h)
        assert res.status_code == 200, res.text
        return str(res.json()["alarms"][0]["result"])

    rev = make_user("rev", "reviewer", "coop-a")

    def stored() -> dict[str, object]:
        got = client.get("/api/v1/coldchain/alarms?station=st-a", headers=rev).json()
        assert len(got) == 1
        return dict(got[0])

    assert send(BASE) == "accepted"
    assert stored()["acked_by"] is None
    acked = BASE | {
        "updated_at": "2026-03-02T02:25:00Z",
        "acked_by": "王芳",
        "acked_at": "2026-03-02T02:25:00Z",
    }
    assert send(acked) == "accepted"
    assert send(acked) == "duplicate"
    row = stored()
    assert row["acked_by"] == "王芳"
    assert str(row["acked_at"]).startswith("2026-03-02T02:25")
    assert send(BASE) == "duplicate"  # an older copy, late: changes nothing
    cleared = BASE | {"updated_at": "2026-03-02T02:40:00Z", "cleared_at": "2026-03-02T02:40:00Z"}
    assert send(cleared) == "accepted"  # a copy without the ack keeps the ack
    row = stored()
    assert row["cleared_at"] is not None
    assert row["acked_by"] == "王芳"
    bad = BASE | {"updated_at": "2026-03-02T02:50:00Z", "acked_by": ""}
    res = client.post("/api/v1/sync", json={"station": "st-a", "alarms": [bad]}, headers=h)
    assert res.status_code == 422
