"""What a stored lot sets off (publish, receipt, sync wake-up) runs with the station's
lock released: another thread's lane is not held up by it, and it still runs before the
call that stored the lot returns."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.outbox.store import EdgeStore
from edge.station.directory import Directory
from edge.station.workflow import Station
from gongfang import wire
from tests.e2e.scale_stream import ScaleStream
from tests.edge.test_station_workflow import LANE, _grading, _settings, _weigh

Hook = Callable[[wire.LotRecord, str], None]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    s = EdgeStore(tmp_path / "edge.db")
    yield s
    s.close()


def _station(tmp_path: Path, store: EdgeStore, hook: Hook, **kw: Any) -> Station:
    return Station(
        settings=_settings(tmp_path, **kw), store=store, directory=Directory(), on_lot_stored=hook
    )


def _other_thread_gets_in(station: Station) -> bool:
    """Whether another thread can use the station now (within 2 s)."""
    done = threading.Event()

    def other() -> None:
        station.status()
        done.set()

    threading.Thread(target=other, daemon=True).start()
    return done.wait(2)


@pytest.mark.parametrize("auto_confirm", [False, True])
def test_the_after_store_hook_runs_with_the_lock_released(
    tmp_path: Path, store: EdgeStore, auto_confirm: bool
) -> None:
    seen: list[tuple[str, bool]] = []
    holder: list[Station] = []

    def hook(lot: wire.LotRecord, lane: str) -> None:
        seen.append((lane, _other_thread_gets_in(holder[0])))

    st = _station(tmp_path, store, hook, auto_confirm=auto_confirm)
    holder.append(st)
    st.select_farmer(LANE, "F001")
    _weigh(st, 8000, ScaleStream(start_ms=1_700_000_000_000), frame="a" * 64, graded=_grading())
    if not auto_confirm:
        assert seen == []
        st.confirm(LANE, operator="王芳")
    assert seen == [(LANE, True)]  # ran before the call returned, the lock free
    assert store.lot_count() == 1


def test_a_failing_hook_does_not_undo_the_lot(tmp_path: Path, store: EdgeStore) -> None:
    def hook(lot: wire.LotRecord, lane: str) -> None:
        raise RuntimeError("printer on fire")

    st = _station(tmp_path, store, hook)
    st.select_farmer(LANE, "F001")
    _weigh(st, 8000, ScaleStream(start_ms=1_700_000_000_000), frame="a" * 64, graded=_grading())
    lot = st.confirm(LANE, operator="王芳")
    assert store.get_lot(str(lot.id)) is not None
    assert st.pending_count(LANE) == 0
    assert st.status()["lanes"][LANE]["last_lot"]["lot_id"] == str(lot.id)
