"""A lot's stay in a cold room: the climate it saw, its excursions and the shelf life it
has left (pure: computed from a room's minute history and alarm records)."""

from __future__ import annotations

from dataclasses import dataclass

from edge.coldchain.alarms import ms
from edge.coldchain.kinetics import mean_kinetic_temperature, shelf_life_used_h
from edge.coldchain.room import Room
from edge.coldchain.rules import MINUTE_MS, RoomProfile

#: the profile of a room no longer configured: a report without data
UNKNOWN_PROFILE = RoomProfile("", 0.0, 0.0, 0.0, 0.0, shelf_life_h_at_0c=0.0)


@dataclass(frozen=True)
class Excursion:
    rule: str
    severity: str
    started_ms: int
    ended_ms: int | None  # None: still on
    peak_value: float | None
    message: str


@dataclass(frozen=True)
class StayReport:
    """A lot's stay in a room: the climate it saw and the shelf life it has left.

    The estimate assumes the produce was fresh at intake (time from harvest is unknown)
    and counts each minute of the stay at that minute's mean temperature; minutes without
    a reading take the nearest earlier one (the first known one at the start).
    """

    room: str
    product: str
    from_ms: int
    to_ms: int
    minutes: float
    data_coverage_pct: float
    mkt_c: float | None
    temp_min_c: float | None
    temp_max_c: float | None
    minutes_above_max: int
    minutes_below_min: int
    excursions: tuple[Excursion, ...]
    shelf_life_h_at_0c: float
    shelf_life_used_h: float | None
    remaining_shelf_life_h: float | None
    remaining_shelf_life_pct: float | None


def stay_report(room: str, r: Room, from_ms: int, to_ms: int) -> StayReport:
    """Excursions, MKT and remaining shelf life of a lot in room ``r`` over [from, to)."""
    p = r.profile
    to_ms = max(to_ms, from_ms)
    first, last = from_ms // MINUTE_MS, max(from_ms, to_ms - 1) // MINUTE_MS
    known = {m: v for m, *v in r.minutes() if first <= m <= last}
    means = [v[0] for v in known.values()]
    spells: list[tuple[float, float]] = []
    carry = known[min(known)][0] if known else None
    for m in range(first, last + 1):
        if m in known:
            carry = known[m][0]
        overlap = min(to_ms, (m + 1) * MINUTE_MS) - max(from_ms, m * MINUTE_MS)
        if carry is not None and overlap > 0:
            spells.append((overlap / MINUTE_MS, carry))
    used = shelf_life_used_h(spells) if spells else None
    remaining = None if used is None else max(0.0, p.shelf_life_h_at_0c - used)
    minutes = (to_ms - from_ms) / MINUTE_MS
    return StayReport(
        room=room,
        product=p.product,
        from_ms=from_ms,
        to_ms=to_ms,
        minutes=round(minutes, 2),
        data_coverage_pct=round(100 * len(known) / (last - first + 1), 1),
        mkt_c=round(mean_kinetic_temperature(means), 2) if means else None,
        temp_min_c=min(v[1] for v in known.values()) if known else None,
        temp_max_c=max(v[2] for v in known.values()) if known else None,
        minutes_above_max=sum(1 for v in means if v > p.temp_max_c),
        minutes_below_min=sum(1 for v in means if v < p.temp_min_c),
        excursions=excursions(r, from_ms, to_ms),
        shelf_life_h_at_0c=p.shelf_life_h_at_0c,
        shelf_life_used_h=None if used is None else round(used, 2),
        remaining_shelf_life_h=None if remaining is None else round(remaining, 2),
        remaining_shelf_life_pct=None
        if remaining is None
        else round(100 * remaining / p.shelf_life_h_at_0c, 1),
    )


def excursions(r: Room, from_ms: int, to_ms: int) -> tuple[Excursion, ...]:
    """The room's alarms (cleared and active) that overlap [from, to), oldest first."""
    out = []
    for a in r.alarms():
        start = ms(a.started_at)
        end = None if a.cleared_at is None else ms(a.cleared_at)
        if start < to_ms and (end is None or end > from_ms):
            out.append(Excursion(a.rule, a.severity.value, start, end, a.peak_value, a.message))
    return tuple(sorted(out, key=lambda e: e.started_ms))
