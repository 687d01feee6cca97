"""The lane workflow: farmer, settled crate, grade, confirm/override, lot stored once."""

from __future__ import annotations

import threading
import time
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


def _weigh(
    station: Station,
    gross_g: int,
    stream: ScaleStream,
    *,
    frame: str | None = None,
    graded: Grading | None = None,
) -> int:
    """One crate on and off the scale; ``frame`` is photographed as it comes to rest (and
    ``graded`` comes back from the grader at once, if given)."""
    settled = 0
    for i, s in enumerate(stream.crate(gross_g, settle_ms=1000)):
        if i == 5 and frame is not None:  # ramp done: the crate is on the scale
            station.on_frame_received(LANE, frame, 1)
            if graded is not None:
                station.on_graded(LANE, graded)
        r = wire.ScaleReading(ts_ms=s.ts_ms, gross_g=s.gross_g, seq=s.seq)
        if station.on_reading(LANE, r) is not None:
            settled += 1
    return settled


def test_operator_confirms_model_grade(tmp_path, store) -> None:
    stored: list = []
    st = _station(tmp_path, store, stored)
    stream = ScaleStream(start_ms=1_700_000_000_000)
    assert _weigh(st, 8000, stream, frame="a" * 64, graded=_grading()) == 1
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
    _weigh(st, 7000, stream, frame="a" * 64)
    assert stored == []  # grading not back yet
    st.on_graded(LANE, _grading(wire.Grade.EXTRA))
    assert len(stored) == 1
    assert stored[0][0].grade is wire.Grade.EXTRA
    # The next crate: its photo's grading is ready, the lot is stored at once.
    e = Grading("e" * 64, 2, wire.Grade.CLASS_I, "m", "1")
    _weigh(st, 7100, stream, frame="e" * 64, graded=e)
    assert len(stored) == 2
    assert stored[1][0].image_hashes == ["e" * 64]
    # A crate with no photo of its own is never graded with the previous crate's photo.
    _weigh(st, 7300, stream)
    assert len(stored) == 2
    assert st.status()["lanes"][LANE]["pending"][0]["waiting_for"] == "grading"
    st.discard(LANE)
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
    b = Grading("b" * 64, 1, None, "m", "1", error="no fruit found")
    _weigh(st, 7000, stream, frame="b" * 64, graded=b)
    c = Grading("c" * 64, 2, wire.Grade.CLASS_II, "m", "1")
    _weigh(st, 7200, stream, frame="c" * 64, graded=c)
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
    f = Grading("f" * 64, 1, wire.Grade.CLASS_I, "m", "1")
    _weigh(st, 6600, stream, frame="f" * 64, graded=f)  # weighed before any farmer was picked
    st.select_farmer(LANE, "F001")
    _weigh(st, 6800, stream, frame="d" * 64)  # F001's second crate, its frame being graded
    st.select_farmer(LANE, "F002")  # the next farmer arrives meanwhile
    st.on_graded(LANE, Grading("d" * 64, 1, wire.Grade.CLASS_I, "m", "1"))
    assert [lot.farmer for lot, _ in stored] == ["F001", "F001"]


def test_a_photo_arriving_just_after_the_crate_came_off_is_still_its_own(tmp_path, store) -> None:
    """A big frame overtaken by small readings lands after the lift: it grades the crate it
    shows; a photo of the empty table does not grade the next crate."""
    stored: list = []
    st = _station(tmp_path, store, stored, auto_confirm=True)
    st.select_farmer(LANE, "F001")
    stream = ScaleStream(start_ms=1_700_000_000_000)
    _weigh(st, 7000, stream)  # settled and lifted off, no photo yet
    assert stored == []
    now = int(time.time() * 1000)
    st.on_frame_received(LANE, "0" * 64, now)
    st.on_graded(LANE, Grading("0" * 64, now, wire.Grade.EXTRA, "m", "1"))
    assert [lot.image_hashes for lot, _ in stored] == [["0" * 64]]
    # Now the table is empty and nothing waits: this photo belongs to no crate.
    st.on_frame_received(LANE, "1" * 64, now + 10)
    st.on_graded(LANE, Grading("1" * 64, now + 10, wire.Grade.EXTRA, "m", "1"))
    _weigh(st, 7100, stream)
    assert len(stored) == 1
    assert st.status()["lanes"][LANE]["pending"][0]["waiting_for"] == "grading"


def test_grading_port_grades_every_crate_and_only_the_newest_photo_of_each() -> None:
    """Frames queue per crate: a busy grader never drops another crate's photo."""
    done: list[tuple[str, Grading]] = []
    all_done = threading.Event()

    def on_graded(lane: str, g: Grading) -> None:
        done.append((lane, g))
        if len(done) == 3:
            all_done.set()

    port = GradingPort(
        products={LANE: wire.Product.STRAWBERRY, "lane2": wire.Product.STRAWBERRY},
        on_graded=on_graded,
        loader=lambda p: _PlaceholderGrader(),
    )
    frames = [synthetic_frame(i) for i in range(4)]
    port.submit(LANE, frames[0], 1, crate=1)  # queued before the worker runs
    port.submit(LANE, frames[1], 2, crate=3)
    port.submit(LANE, frames[2], 3, crate=3)  # a newer photo of crate 3 replaces frames[1]
    port.submit("lane2", frames[3], 4, crate=1)
    port.start()
    try:
        assert all_done.wait(30)
    finally:
        port.stop()
    got = [(lane, g.received_ms) for lane, g in done]
    assert got == [(LANE, 1), (LANE, 3), ("lane2", 4)]
    assert port.dropped == 0
