"""The day's script: scriptable faults, the farmers' visits and their crates, in simulated time.

Farmers arrive (exponential gaps) with 1–4 crates; each visit goes to the lane that frees
up first. Everything follows from the seed, so the same arguments plan the same day.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from gongfang.wire import Product

FaultKind = Literal["compressor", "silent-sensor", "unsettled-scale", "garbled", "door-left-open"]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "compressor",
    "silent-sensor",
    "unsettled-scale",
    "garbled",
    "door-left-open",
)
DOOR_LEFT_OPEN_MS = 7 * 60_000  # longer than DESIGN's 5 min door rule
_FAULT_DEFAULT_AT_S: dict[str, float] = {
    "compressor": 60.0,
    "door-left-open": 60.0,
    "silent-sensor": 60.0,
    "unsettled-scale": 0.0,
    "garbled": 0.0,
}
#: 2026-01-15 08:00 Asia/Shanghai, mid strawberry season: seeded runs start here.
DEFAULT_START = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def opening_today(now: datetime | None = None) -> datetime:
    """Today's 08:00 in Asia/Shanghai (the station opens), or now if that is still to
    come: lots then fall on today's prices and no reading is stamped in the future."""
    now = now or datetime.now(UTC)
    local = now.astimezone(SHANGHAI)
    opening = local.replace(hour=8, minute=0, second=0, microsecond=0)
    return min(opening, local.replace(microsecond=0)).astimezone(UTC)
SAMPLE_PERIOD_MS = 200
CRATE_TARE_G = 500  # the edge's default lane tare
DIVISION_G = 10  # the platform scale's division
SCAN_LEAD_MS = 2_000  # card scanned, then the first crate goes on
_PHASES_MS = 1000 + 400 + 1400 + 2600 + 300 + 800  # profile.Phases() total
CRATE_MS = _PHASES_MS + SAMPLE_PERIOD_MS


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    at_s: float

    @classmethod
    def parse(cls, text: str) -> Fault:
        """``kind`` or ``kind@seconds``."""
        kind, _, at = text.partition("@")
        if kind not in FAULT_KINDS:
            raise ValueError(
                f"未知故障 / unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}"
            )
        try:
            at_s = float(at) if at else _FAULT_DEFAULT_AT_S[kind]
        except ValueError:
            raise ValueError(f"故障时间必须是秒数 / fault time must be seconds: {text!r}") from None
        return cls(kind, at_s)


@dataclass(frozen=True, slots=True)
class Crate:
    gross_g: int
    n_items: int


@dataclass(frozen=True, slots=True)
class Visit:
    index: int
    farmer: str
    lane: str
    room: str
    arrive_ms: int
    start_ms: int
    crates: tuple[Crate, ...]

    @property
    def duration_ms(self) -> int:
        return len(self.crates) * CRATE_MS + SCAN_LEAD_MS


def plan_visits(
    *,
    seed: int,
    farmers: Sequence[str],
    lanes: Sequence[str],
    rooms: Sequence[str],
    product: Product,
    mean_gap_ms: float,
    duration_s: float | None,
    n_farmers: int | None,
) -> tuple[list[Visit], int]:
    """The visits and the end of the run (ms after start).

    ``duration_s`` bounds the day; without it ``n_farmers`` visits (default: each farmer
    once) and the day ends 2 s after the last.
    """
    rng = random.Random(f"{seed}:visits")
    if n_farmers is not None:
        limit: int | None = n_farmers
    else:
        limit = None if duration_s is not None else len(farmers)
    horizon = duration_s * 1000 if duration_s is not None else math.inf
    lane_free = dict.fromkeys(lanes, 0)
    visits: list[Visit] = []
    t = 5_000.0
    for i in itertools.count():
        if (limit is not None and i >= limit) or t >= horizon:
            break
        lane = min(lanes, key=lambda ln: (lane_free[ln], lanes.index(ln)))
        begin = max(int(t), lane_free[lane])
        crates = tuple(_crate(rng, product) for _ in range(rng.randint(1, 4)))
        visit = Visit(
            index=i,
            farmer=farmers[i % len(farmers)],
            lane=lane,
            room=rooms[i % len(rooms)],
            arrive_ms=int(t),
            start_ms=begin,
            crates=crates,
        )
        visits.append(visit)
        lane_free[lane] = begin + visit.duration_ms + 2_000
        t += max(10_000.0, rng.expovariate(1 / mean_gap_ms))
    if duration_s is not None:
        end = int(duration_s * 1000)
    else:
        end = max((v.start_ms + v.duration_ms for v in visits), default=0) + 2_000
    return visits, end


def _crate(rng: random.Random, product: Product) -> Crate:
    # Weights in whole scale divisions, so the scale shows exactly the crate's gross.
    if product is Product.STRAWBERRY:
        # A plastic crate (CRATE_TARE_G) of 3–8 kg of fruit; 6–14 fruit in the photo.
        net_g = rng.randint(300, 800) * DIVISION_G
        return Crate(CRATE_TARE_G + net_g, rng.randint(6, 14))
    # A bundle of 箬叶 (5–20 kg) in the same crate; 3–6 leaves photographed.
    return Crate(CRATE_TARE_G + rng.randint(500, 2000) * DIVISION_G, rng.randint(3, 6))
