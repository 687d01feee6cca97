"""Cold-room profiles and alarm rules (DESIGN.md "Cold chain").

An alarm rule is a condition, how long it must hold before the alarm is raised, and a
clear condition with hysteresis (a threshold on the safe side of the trigger, held for
``clear_ms``), so that a reading wobbling around the threshold neither raises nor clears
the alarm again and again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gongfang import wire
from gongfang.kinetics import SHELF_LIFE_H_AT_0C

MINUTE_MS = 60_000

Metric = Literal["temp_c", "rh_pct", "silence", "door_open"]


@dataclass(frozen=True)
class RoomProfile:
    """What a room holds and the climate it should keep."""

    product: str
    temp_min_c: float
    temp_max_c: float
    rh_min_pct: float
    rh_max_pct: float
    shelf_life_h_at_0c: float  # storage life at 0 °C, the base of the Q10 shelf-life table
    name_zh: str = ""


PROFILES: dict[str, RoomProfile] = {
    # DESIGN.md: 0–2 °C, 90–95 % RH, about 7 days at 0 °C.
    "strawberry": RoomProfile(
        product="strawberry",
        temp_min_c=0.0,
        temp_max_c=2.0,
        rh_min_pct=90.0,
        rh_max_pct=95.0,
        shelf_life_h_at_0c=SHELF_LIFE_H_AT_0C["strawberry"],
        name_zh="草莓冷库",
    ),
    # Fresh 箬叶 (Indocalamus leaves) keep like leafy greens: they do not suffer chilling
    # injury (the plant is frost-hardy in the Zhejiang hills) but wilt and yellow quickly
    # when warm or dry, and leafy greens are stored near 0 °C at high humidity. Workshops
    # keep fresh leaves cold for weeks before boiling/drying them for zongzi. We choose
    # 0–4 °C and 85–95 % RH, which also fits the default rules (> 4 °C major, RH < 85 %
    # minor), and about 30 days at 0 °C — an estimate (no published figure found), so the
    # remaining-shelf-life figure for 箬叶 is a guide only.
    "ruoye": RoomProfile(
        product="ruoye",
        temp_min_c=0.0,
        temp_max_c=4.0,
        rh_min_pct=85.0,
        rh_max_pct=95.0,
        shelf_life_h_at_0c=SHELF_LIFE_H_AT_0C["ruoye"],
        name_zh="箬叶冷库",
    ),
}


@dataclass(frozen=True)
class AlarmRule:
    """``metric`` above (or below) ``threshold`` for ``duration_ms`` raises the alarm; it
    clears once the value is back at or beyond ``clear_threshold`` for ``clear_ms``.

    ``silence`` (no climate reading for ``duration_ms``) clears with the next reading;
    ``door_open`` (door open for ``duration_ms``) clears when the door closes.
    """

    id: str
    severity: wire.Severity
    metric: Metric
    duration_ms: int
    above: bool = True
    threshold: float = 0.0
    clear_threshold: float = 0.0
    clear_ms: int = 0
    update_step: float = 0.5  # an active alarm is re-published when its peak worsens by this
    message_zh: str = ""
    message_en: str = ""

    def __post_init__(self) -> None:
        if self.duration_ms < 0 or self.clear_ms < 0:
            raise ValueError("durations must be ≥ 0")
        if self.metric in ("temp_c", "rh_pct"):
            safe = (
                self.clear_threshold <= self.threshold
                if self.above
                else self.clear_threshold >= self.threshold
            )
            if not safe:
                raise ValueError(f"rule {self.id}: clear threshold must be on the safe side")

    def triggered(self, value: float) -> bool:
        return value > self.threshold if self.above else value < self.threshold

    def clears(self, value: float) -> bool:
        return value <= self.clear_threshold if self.above else value >= self.clear_threshold

    def worse(self, a: float, b: float) -> float:
        return max(a, b) if self.above else min(a, b)

    def message(self, room: str, peak: float | None) -> str:
        value = "" if peak is None else f" ({peak:g})"
        return f"{room}: {self.message_zh}{value} / {self.message_en}{value}"


# Hysteresis: the SHT20's accuracy is about ±0.3 °C and ±3 % RH, so the clear thresholds
# sit 0.5 °C (1 °C for the critical one) and 2 % RH inside the limits, and the value must
# stay there 5 minutes (10 for RH, which swings with each door opening) so one reading
# after a defrost cycle or door opening does not clear an excursion that is still on.
DEFAULT_RULES: tuple[AlarmRule, ...] = (
    AlarmRule(
        id="temp_high",
        severity=wire.Severity.MAJOR,
        metric="temp_c",
        above=True,
        threshold=4.0,
        duration_ms=20 * MINUTE_MS,
        clear_threshold=3.5,
        clear_ms=5 * MINUTE_MS,
        message_zh="温度高于 4 °C 超过 20 分钟",
        message_en="temperature above 4 °C for 20 min",
    ),
    AlarmRule(
        id="temp_critical",
        severity=wire.Severity.CRITICAL,
        metric="temp_c",
        above=True,
        threshold=8.0,
        duration_ms=10 * MINUTE_MS,
        clear_threshold=7.0,
        clear_ms=5 * MINUTE_MS,
        message_zh="温度高于 8 °C 超过 10 分钟",
        message_en="temperature above 8 °C for 10 min",
    ),
    AlarmRule(
        id="temp_low",
        severity=wire.Severity.MAJOR,
        metric="temp_c",
        above=False,
        threshold=-0.5,
        duration_ms=60 * MINUTE_MS,
        clear_threshold=0.0,
        clear_ms=5 * MINUTE_MS,
        message_zh="温度低于 −0.5 °C 超过 60 分钟（冻伤风险）",
        message_en="temperature below −0.5 °C for 60 min (freezing risk)",
    ),
    AlarmRule(
        id="rh_low",
        severity=wire.Severity.MINOR,
        metric="rh_pct",
        above=False,
        threshold=85.0,
        duration_ms=60 * MINUTE_MS,
        clear_threshold=87.0,
        clear_ms=10 * MINUTE_MS,
        update_step=2.0,
        message_zh="湿度低于 85% 超过 60 分钟",
        message_en="relative humidity below 85 % for 60 min",
    ),
    AlarmRule(
        id="sensor_silent",
        severity=wire.Severity.MAJOR,
        metric="silence",
        duration_ms=10 * MINUTE_MS,
        message_zh="传感器 10 分钟无数据",
        message_en="sensor silent: no reading for 10 min",
    ),
    AlarmRule(
        id="door_open",
        severity=wire.Severity.WARNING,
        metric="door_open",
        duration_ms=5 * MINUTE_MS,
        message_zh="库门打开超过 5 分钟",
        message_en="door open for more than 5 min",
    ),
)
