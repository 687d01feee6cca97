"""Shelf life of lots still in their room, from the room's climate minutes (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.coldchain.shelf_life import RoomClock, remaining_in_room_h

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _m(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_minutes_count_by_the_q10_table_and_gaps_carry() -> None:
    # 0 °C for the first hour, one summary at 20 °C carried through the second hour
    clock = RoomClock(T0, _m(120), [(_m(0), 0.0), (_m(60), 20.0)])
    assert clock.used_h(T0) == pytest.approx(1.0 + 1.0 / 0.13)
    assert clock.used_h(_m(60)) == pytest.approx(1.0 / 0.13)
    # a lot that came in between: the reading before it carries up to the next one
    assert clock.used_h(_m(30)) == pytest.approx(0.5 + 1.0 / 0.13)
    # before the first summary, the first one counts (as the edge does)
    late = RoomClock(T0, _m(60), [(_m(30), 10.0)])
    assert late.used_h(T0) == pytest.approx(1.0 / 0.33)
    # no summary since the lot came: no estimate, even with data before it (a silent
    # sensor is not carried forever)
    assert clock.used_h(_m(90)) is None
    assert clock.used_h(_m(120)) is None
    assert RoomClock(T0, _m(60), []).used_h(T0) is None


def test_remaining_is_the_products_base_less_what_was_used() -> None:
    assert remaining_in_room_h("strawberry", 10.0) == pytest.approx(158.0)
    assert remaining_in_room_h("ruoye", 10.0) == pytest.approx(710.0)
    assert remaining_in_room_h("strawberry", 500.0) == 0.0
    assert remaining_in_room_h("strawberry", None) is None
    assert remaining_in_room_h("apple", 1.0) is None
