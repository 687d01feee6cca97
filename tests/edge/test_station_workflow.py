"""The lane workflow: farmer, settled crate, grade, confirm/override, lot stored once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.errors import NoPendingLotError, UnknownLaneError, WorkflowError
from edge.outbox.store import EdgeStore
from edge.station.directory import Directory
from edge.station.grading_port import Grading, GradingPort, _PlaceholderGrader, to_grading
from edge.station.workflow import Station
from gongfang import wire
from gongfang.settings import EdgeLane, EdgeSettings
from tests.e2e.helpers import synthetic_frame
from tests.e2e.scale_stream import ScaleStream

LANE = "lane1"


def _settings(tmp_path: Path, tare_g: int = 500, **kw: Any) -> EdgeSettings:
    return EdgeSettings.load(
        station="st1",
        data_dir=tmp_path,
        lanes=[EdgeLane(id=LANE, tare_g=tare_g, cold_room="room1")],
        stable_window_ms=300,
        **kw,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    s = EdgeStore(tmp_path / "edge.db")
    yield s
    s.close()


def _station(tmp_path: Path, store: EdgeStore, stored: list, **kw: Any) -> Station:
    directory = Directory(
        wire.StationDirectory(
            station="st1",
            cooperative="c",
            farmers=[wire.FarmerHint(id="F001", name="张三", card_code="CARD-9")],
        )
    )
    return Station(
        settings=_settings(tmp_path, **kw),
        store=store,
        directory=directory,
        on_lot_stored=lambda lot, lane: stored.append((lot, lane)),
    )


def _grading(grade: wire.Grade | None = wire.Grade.CLASS_I) -> Grading:
    return Grading("a" * 64, 1, grade, "strawberry-grader", "1.2", [{"label": "ripe"}])


def _weigh(station: Station, gross_g: int, stream: ScaleStream) -> int:
    settled = 0
    for s in stream.crate(gross_g, settle_ms=1000):
        r = wire.ScaleReading(ts_ms=s.ts_ms, gross_g=s.gross_g, seq=s.seq)
        if station.on_reading(LANE, r) is not None:
            settled += 1
    return settled


def test_operator_confirms_model_grade(tmp_path, store) -> None:
    stored: list = []
    st = _station(tmp_path, store, stored)
    stream = ScaleStream(start_ms=1_700_000_000_000)
    st.on_frame_received(LANE, "a" * 64, 1)
    st.on_graded(LANE, _grading())
    assert _weigh(st, 8000, stream) == 1
    assert st.pending_count(LANE) == 1
    assert stored == []
    with pytest.raises(WorkflowError, match="农户"):
        st.confirm(LANE, operator="王芳")
    farmer = st.on_scan(LANE, "CARD-9")  # scanned card code → the directory's farmer
    assert (farmer.id, farmer.name, farmer.verified) == ("F001", "张三", True)
    lot = st.confirm(LANE, operator="王芳")
    assert abs(lot.gross_g - 8000) <= 10
    assert lot.tare_g == 500
    assert lot.net_g == lot.gross_g - 500
    assert lot.farmer == "F001"
    assert lot.graded_by.kind == "model"
    assert lot.graded_by.model_version == "1.2"
    assert lot.image_hashes == ["a" * 64]
    assert lot.items == [{"label": "ripe"}]
    assert lot.captured_at.tzinfo is not None
    assert lot.operator == "王芳"
    assert lot.cold_room == "room1"
    assert store.lot_count() == 1
    assert stored[0][0] == lot
    assert store.stay(str(lot.id))[0] == "room1"
    with pytest.raises(NoPendingLotError):
        st.confirm(LANE)


def test_override_needs_reason_and_records_operator(tmp_path, store) -> None:
    stored: list = []
    st = _station(tmp_path, store, stored)
    st.select_farmer(LANE, "F777")  # not in the directory: taken as typed, unverified
    _weigh(st, 6000, ScaleStream(start_ms=1_700_000_000_000))
    with pytest.raises(WorkflowError):
        st.confirm(LANE)  # no frame graded: no model grade to confirm
    with pytest.raises(WorkflowError):
        st.override(LANE, grade=wire.Grade.CLASS_II, reason=" ", operator="王芳")
    lot = st.override(LANE, grade=wire.Grade.CLASS_II, reason="软果多", operator="王芳")
    assert lot.graded_by == wire.GradedBy(kind="operator", operator="王芳", reason="软果多")
    assert lot.farmer == "F777"
    assert lot.image_hashes == []
    assert st.status()["lanes"][LANE]["farmer"]["verified"] is False


def test_auto_confirm_waits_for_grading_then_stores(tmp_path, store) -> None:
    stored: list = []
    st = _station(tmp_path, store, stored, auto_confirm=True)
    st.select_farmer(LANE, "F001")
    stream = ScaleStream(start_ms=1_700_000_000_000)
    st.on_frame_received(LANE, "a" * 64, 1)
    _weigh(st, 7000, stream)
    assert stored == []  # grading not back yet
    st.on_graded(LANE, _grading(wire.Grade.EXTRA))
    assert len(stored) == 1
    assert stored[0][0].grade is wire.Grade.EXTRA
    # The next crate: the frame's grading is ready, the lot is stored at once.
    _weigh(st, 7100, stream)
    assert len(stored) == 2
    assert store.lot_count() == 2
    assert stored[0][0].id != stored[1][0].id
    assert st.latencies_ms
    assert st.counters["lots_stored"] == 2


def test_discard_drops_the_pending_lot(tmp_path, store) -> None:
    stored: list = []
    st = _station(tmp_path, store, stored)
    stream = ScaleStream(start_ms=1_700_000_000_000)
    _weigh(st, 8000, stream)
    st.discard(LANE)
    assert st.pending_count(LANE) == 0
    assert store.lot_count() == 0
    assert st.counters["discarded"] == 1


def test_net_not_positive_makes_no_lot(tmp_path, store) -> None:
    st = _station(tmp_path, store, [], tare_g=1000)
    assert _weigh(st, 900, ScaleStream(start_ms=1_700_000_000_000)) == 0  # gross < tare
    assert st.pending_count(LANE) == 0
    assert st.counters["net_not_positive"] == 1


def test_unknown_lane_and_scale(tmp_path, store) -> None:
    st = _station(tmp_path, store, [])
    with pytest.raises(UnknownLaneError):
        st.select_farmer("lane9", "F001")
    r = wire.ScaleReading(ts_ms=1, gross_g=100, seq=0)
    assert st.on_reading("scale-x", r) is None
    assert st.counters["unknown_scale_readings"] == 1
    assert st.status()["other_scales"]["scale-x"]["gross_g"] == 100


def test_grader_errors_become_grading_errors() -> None:
    g = to_grading(b"x", 1, {"error": {"code": "undecodable", "message": "图像无法解码"}})
    assert g.grade is None
    assert g.error == "图像无法解码"
    got: list = []
    port = GradingPort(
        products={LANE: wire.Product.STRAWBERRY},
        on_graded=lambda lane, g: got.append(g),
        loader=lambda p: _PlaceholderGrader(),
    )
    assert port.grade_now(LANE, b"\xff\xd8\xffjunk", 5).error  # undecodable, even here
    g2 = port.grade_now(LANE, synthetic_frame(), 5)
    assert g2.grade is wire.Grade.CLASS_I
    assert g2.model_name == "placeholder"
    assert "placeholder_grader" in g2.flags


def test_real_grader_through_the_port_on_a_corrupt_frame() -> None:
    port = GradingPort(products={LANE: wire.Product.STRAWBERRY}, on_graded=lambda a, b: None)
    g = port.grade_now(LANE, b"\xff\xd8\xff" + b"\x00" * 100, 5)
    assert g.grade is None
    assert g.error


def test_ungradable_lot_waits_without_blocking_the_lane(tmp_path, store) -> None:
    stored: list = []
    st = _station(tmp_path, store, stored, auto_confirm=True)
    st.select_farmer(LANE, "F001")
    stream = ScaleStream(start_ms=1_700_000_000_000)
    st.on_frame_received(LANE, "b" * 64, 1)
    st.on_graded(LANE, Grading("b" * 64, 1, None, "m", "1", error="no fruit found"))
    _weigh(st, 7000, stream)
    st.on_frame_received(LANE, "c" * 64, 2)
    st.on_graded(LANE, Grading("c" * 64, 2, wire.Grade.CLASS_II, "m", "1"))
    _weigh(st, 7200, stream)
    assert [lot.image_hashes for lot, _ in stored] == [["c" * 64]]
    [waiting] = st.status()["lanes"][LANE]["pending"]
    assert waiting["waiting_for"] == "override"
    assert waiting["grading_error"] == "no fruit found"
    lot = st.override(LANE, grade=wire.Grade.CLASS_I, reason="人工", operator="王芳")
    assert lot.image_hashes == ["b" * 64]


def test_lot_keeps_the_farmer_of_its_crate_when_the_next_one_scans(tmp_path, store) -> None:
    stored: list = []
    st = _station(tmp_path, store, stored, auto_confirm=True)
    stream = ScaleStream(start_ms=1_700_000_000_000)
    _weigh(st, 6600, stream)  # weighed before any farmer was picked
    st.select_farmer(LANE, "F001")
    st.on_frame_received(LANE, "d" * 64, 1)
    _weigh(st, 6800, stream)  # F001's second crate, its frame still being graded
    st.select_farmer(LANE, "F002")  # the next farmer arrives meanwhile
    st.on_graded(LANE, Grading("d" * 64, 1, wire.Grade.CLASS_I, "m", "1"))
    assert [lot.farmer for lot, _ in stored] == ["F001", "F001"]
