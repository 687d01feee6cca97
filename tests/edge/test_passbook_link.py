"""The receipt's passbook link: each stored lot carries its own token, kept for reprints
and sent to the server, never published; the link's base URL is an edge setting."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.outbox.store import EdgeStore
from edge.station.grading_port import Grading, to_grading
from gongfang import wire
from gongfang.settings import EdgeSettings
from tests.e2e.scale_stream import ScaleStream
from tests.edge.test_station_workflow import LANE, _grading, _station, _weigh


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    s = EdgeStore(tmp_path / "edge.db")
    yield s
    s.close()


def test_each_lot_gets_its_own_token(tmp_path, store) -> None:
    stored: list = []
    st = _station(tmp_path, store, stored, auto_confirm=True)
    st.select_farmer(LANE, "F001")
    stream = ScaleStream(start_ms=1_700_000_000_000)
    _weigh(st, 7000, stream, frame="a" * 64, graded=_grading(wire.Grade.EXTRA))
    _weigh(
        st, 7100, stream, frame="b" * 64, graded=Grading("b" * 64, 2, wire.Grade.EXTRA, "m", "1")
    )
    lots = [lot for lot, _ in stored]
    tokens = [lot.passbook_token for lot in lots]
    assert len(set(tokens)) == 2
    assert all(t and re.fullmatch(r"[A-Za-z0-9_-]{22,}", t) for t in tokens)
    for lot in lots:
        kept = store.get_lot(str(lot.id))
        assert kept is not None
        assert kept.record.passbook_token == lot.passbook_token  # a reprint has the same link
        assert "passbook_token" not in lot.public_doc()  # what goes on MQTT
    bodies = [json.loads(e.body) for e in store.next_batch(10)]
    assert {b["passbook_token"] for b in bodies} == set(tokens)  # what goes to the server


def test_public_base_defaults_to_the_server_url() -> None:
    s = EdgeSettings.load(server_url="http://10.0.0.5:8000/")
    assert s.passbook_base == "http://10.0.0.5:8000"
    s = EdgeSettings.load(server_url="http://10.0.0.5:8000", public_base="https://gf.example.org")
    assert s.passbook_base == "https://gf.example.org"
    assert EdgeSettings.load().passbook_base is None


def test_grading_keeps_the_photo_scale_per_item() -> None:
    result = {
        "lot_grade": "extra",
        "mm_per_px": 0.2,
        "model": {"name": "m", "version": "1"},
        "items": [{"center_px": [10, 20], "diameter_mm": 30.0}],
    }
    g = to_grading(b"\xff\xd8\xff", 1, result)
    assert g.items == [{"center_px": [10, 20], "diameter_mm": 30.0, "mm_per_px": 0.2}]
