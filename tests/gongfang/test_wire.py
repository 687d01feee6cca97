"""Topic names and payload parsing of DESIGN.md's wire contract."""

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gongfang import wire


def test_topics_round_trip() -> None:
    t = wire.Topics("s1")
    assert t.scale_reading("sc1") == "gf/v1/s1/scale/sc1/reading"
    assert wire.parse_topic(t.climate("cold-1")) == wire.Topic(
        wire.TopicKind.CLIMATE, "s1", "cold-1"
    )
    assert wire.parse_topic(t.edge_alarm) == wire.Topic(wire.TopicKind.EDGE_ALARM, "s1")
    assert wire.parse_topic("gf/v1/s1/scale/sc1/weight") is None
    assert wire.parse_topic("other/v1/s1/scale/sc1/reading") is None


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("gf/v1/s/scale/a/reading", b"not json"),
        ("gf/v1/s/scale/a/reading", b'{"ts_ms": 1, "seq": 1}'),
        ("gf/v1/s/scale/a/reading", b'{"ts_ms": 1, "gross_g": 1, "seq": 1, "status": "meh"}'),
        ("gf/v1/s/coldroom/r/climate", b'{"ts_ms": 1, "temp_c": 300, "rh_pct": 50, "seq": 1}'),
        ("gf/v1/s/coldroom/r/climate", b'{"ts_ms": 1, "temp_c": NaN, "rh_pct": 50, "seq": 1}'),
        ("gf/v1/s/coldroom/r/climate", b"[1,2]"),
        ("gf/v1/s/camera/l/frame", b"GIF89a"),
        ("gf/v1/s/device/d/status", b"maybe"),
        ("gf/v1/s/nothing/d/status", b"{}"),
        ("gf/v1/s/scanner/l/code", b"\xff\xfe"),
    ],
)
def test_bad_payloads_raise_payload_error(topic: str, payload: bytes) -> None:
    with pytest.raises(wire.PayloadError) as err:
        wire.parse_payload(topic, payload)
    assert err.value.topic == topic


def test_good_payloads() -> None:
    _, r = wire.parse_payload(
        "gf/v1/s/scale/a/reading",
        b'{"ts_ms": 5, "gross_g": 1200, "seq": 7, "stable": true, "status": "ok"}',
    )
    assert r == wire.ScaleReading(ts_ms=5, gross_g=1200, seq=7, stable=True, status="ok")
    _, s = wire.parse_payload("gf/v1/s/device/d/status", b'"offline"')
    assert s == "offline"
    _, f = wire.parse_payload("gf/v1/s/camera/l/frame", b"\xff\xd8\xff\xe0rest")
    assert f.startswith(b"\xff\xd8")


def _lot(**kw: object) -> wire.LotRecord:
    doc: dict[str, object] = {
        "id": str(uuid.UUID(int=1)),
        "station": "s1",
        "farmer": "f1",
        "product": "strawberry",
        "grade": "class_i",
        "gross_g": 5000,
        "tare_g": 400,
        "net_g": 4600,
        "graded_by": {"kind": "model", "model_name": "strawberry", "model_version": "1.0"},
        "captured_at": "2026-03-01T02:15:00Z",
    }
    doc.update(kw)
    return wire.LotRecord.model_validate(doc)


def test_lot_net_must_match() -> None:
    with pytest.raises(ValidationError, match="net_g"):
        _lot(net_g=4000)


def test_lot_needs_aware_time_and_operator_reason() -> None:
    with pytest.raises(ValidationError):
        _lot(captured_at="2026-03-01T02:15:00")
    with pytest.raises(ValidationError, match="reason"):
        _lot(graded_by={"kind": "operator", "operator": "王"})


def test_content_hash_ignores_zone_spelling_but_not_content() -> None:
    a = _lot()
    b = _lot(captured_at="2026-03-01T10:15:00+08:00")
    c = _lot(grade="extra")
    assert a.content_hash() == b.content_hash()
    assert a.content_hash() != c.content_hash()
    assert wire.utc_ms(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1000


def _stay(**kw: object) -> wire.LotStay:
    doc: dict[str, object] = {
        "lot_id": "7a0c7d4e-3f4b-4c39-9d55-0c2f0a8f1b11",
        "station": "s1",
        "room": "cold-1",
        "entered_at": "2026-03-01T02:15:00Z",
        "left_at": "2026-03-02T02:15:00Z",
        "excursions": 1,
        "minutes_above_max_c": 25,
        "minutes_below_min_c": 0,
        "temp_peak_c": 6.5,
        "mkt_c": 1.42,
        "data_coverage_pct": 99.3,
        "remaining_shelf_life_h": 131.5,
    }
    doc.update(kw)
    return wire.LotStay.model_validate(doc)


def test_lot_stay_validates_times_and_ranges() -> None:
    stay = _stay()
    assert stay.lot_id == uuid.UUID("7a0c7d4e-3f4b-4c39-9d55-0c2f0a8f1b11")
    with pytest.raises(ValidationError, match="left_at"):
        _stay(left_at="2026-03-01T02:14:59Z")
    with pytest.raises(ValidationError):
        _stay(entered_at="2026-03-01T02:15:00")  # naive
    with pytest.raises(ValidationError):
        _stay(excursions=-1)
    with pytest.raises(ValidationError):
        _stay(data_coverage_pct=100.5)
    with pytest.raises(ValidationError):
        _stay(temp_peak_c=float("nan"))
    with pytest.raises(ValidationError):
        _stay(shelf="x")  # unknown field
    # estimates the edge could not make are None
    blank = _stay(temp_peak_c=None, mkt_c=None, remaining_shelf_life_h=None)
    assert blank.mkt_c is None


def test_lot_stay_content_hash() -> None:
    a = _stay()
    assert a.content_hash() == _stay(left_at="2026-03-02T10:15:00+08:00").content_hash()
    assert a.content_hash() != _stay(minutes_above_max_c=26).content_hash()
    assert a.content_hash() == wire.LotStay.model_validate_json(a.model_dump_json()).content_hash()


def test_sync_batch_and_ack_stays_are_optional() -> None:
    # an older edge's batch (no "stays") and an older server's ack (no "stays") still parse
    batch = wire.SyncBatch.model_validate_json(b'{"station":"s1","lots":[],"alarms":[]}')
    assert batch.stays == []
    ack = wire.SyncAck.model_validate_json(b'{"lots":[],"alarms":[],"climate_stored":0}')
    assert ack.stays == []
    full = wire.SyncBatch(station="s1", stays=[_stay()])
    assert wire.SyncBatch.model_validate_json(full.model_dump_json()) == full
    ack2 = wire.SyncAck(stays=[wire.ItemAck(id=str(_stay().lot_id), result="duplicate")])
    assert wire.SyncAck.model_validate_json(ack2.model_dump_json()).stays[0].result == "duplicate"
