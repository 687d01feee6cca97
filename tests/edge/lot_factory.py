"""Small builders of wire records for the outbox/sync/receipt tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from gongfang import wire

BASE = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)


def make_lot(
    i: int = 0, *, farmer: str = "F001", station: str = "st1", **kw: object
) -> wire.LotRecord:
    gross = int(kw.pop("gross_g", 5000 + 37 * i))  # type: ignore[call-overload]
    tare = int(kw.pop("tare_g", 500))  # type: ignore[call-overload]
    doc: dict[str, object] = {
        "id": uuid.uuid4(),
        "station": station,
        "farmer": farmer,
        "product": wire.Product.STRAWBERRY,
        "grade": wire.Grade.CLASS_I,
        "gross_g": gross,
        "tare_g": tare,
        "net_g": gross - tare,
        "graded_by": wire.GradedBy(kind="model", model_name="m", model_version="1"),
        "captured_at": BASE + timedelta(seconds=i),
        "cold_room": "room1",
    }
    doc.update(kw)
    return wire.LotRecord.model_validate(doc)


def make_alarm(*, alarm_id: uuid.UUID | None = None, cleared: bool = False) -> wire.AlarmRecord:
    return wire.AlarmRecord(
        id=alarm_id or uuid.uuid4(),
        station="st1",
        room="room1",
        rule="temp_high",
        severity=wire.Severity.MAJOR,
        started_at=BASE,
        updated_at=BASE + timedelta(minutes=5),
        cleared_at=BASE + timedelta(minutes=30) if cleared else None,
        peak_value=5.5,
        message="> 4 °C",
    )


def make_summary(minute: int, room: str = "room1") -> wire.ClimateSummary:
    return wire.ClimateSummary(
        station="st1",
        room=room,
        minute_start=BASE + timedelta(minutes=minute),
        samples=6,
        temp_min_c=1.0,
        temp_mean_c=1.5,
        temp_max_c=2.0,
        rh_mean_pct=92.0,
    )
