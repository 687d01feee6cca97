"""Stable-weight detector: one :class:`StableWeight` per load placed on a scale. Pure, no I/O.

State per scale::

    ARMED ──load ≥ min_load and stable──▶ SETTLED (emits once)
      ▲                                      │
      └──── readings back inside the zero band (``rearm_readings`` in a row)

Stability comes from the scale when it says so (``stable: true`` on two consecutive
readings that agree within the tolerance; ``stable: false`` means "not yet"), otherwise
from the readings themselves: the readings of the last ``window_ms`` (plus the one just
before the window, so the window is covered from its start) spread by at most
``tolerance_g`` and there are at least ``min_readings`` of them.

Zero tracking: while armed and the platform is empty and steady (inside the zero band
around the current zero), the zero follows the readings, so slow drift (temperature,
wet leaves left on the platform) is subtracted from the next crate. The zero may wander
at most ``zero_track_limit_g`` from the scale's own zero, as on a real scale's zero-tracking
range; a larger offset is a load, not drift.

Readings with ``status`` other than ``ok`` interrupt stability; readings whose ``seq`` is
not newer than the last one are duplicates or late and ignored (a jump back by more than
``SEQ_RESET`` means the scale restarted, and counts as new).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gongfang import wire

if TYPE_CHECKING:
    from gongfang.settings import EdgeSettings

SEQ_RESET = 1000  # a seq this far below the last one is a scale restart, not a late reading


@dataclass(frozen=True)
class WeighingConfig:
    window_ms: int = 1500
    tolerance_g: int = 20
    min_load_g: int = 500
    zero_band_g: int = 50
    min_readings: int = 3  # a window needs this many readings (sparse streams prove nothing)
    rearm_readings: int = 2  # readings in the zero band before the next crate counts
    zero_track_limit_g: int = 1000

    def __post_init__(self) -> None:
        if self.window_ms <= 0 or self.tolerance_g < 0 or self.zero_band_g < 0:
            raise ValueError(
                "称重参数无效 / bad weighing settings: window_ms > 0, tolerance_g ≥ 0 and "
                "zero_band_g ≥ 0 are required"
            )
        if self.min_readings < 2 or self.rearm_readings < 1:
            raise ValueError("min_readings must be ≥ 2 and rearm_readings ≥ 1")
        if self.min_load_g <= self.zero_band_g:
            raise ValueError(
                "最小称重必须大于零点范围 / min_load_g must be larger than zero_band_g "
                f"({self.min_load_g} ≤ {self.zero_band_g})"
            )

    @classmethod
    def from_settings(cls, s: EdgeSettings) -> WeighingConfig:
        return cls(
            window_ms=s.stable_window_ms,
            tolerance_g=s.stable_tolerance_g,
            min_load_g=s.min_load_g,
            zero_band_g=s.zero_band_g,
        )


@dataclass(frozen=True)
class StableWeight:
    """A settled load: gross grams with the tracked zero subtracted."""

    scale: str
    gross_g: int
    ts_ms: int  # time of the reading that completed the stable window
    readings: int  # readings the decision rests on


class StableWeightDetector:
    """Feed one scale's readings in order; get a :class:`StableWeight` once per load."""

    def __init__(self, scale: str, config: WeighingConfig | None = None) -> None:
        self.scale = scale
        self.config = config or WeighingConfig()
        self._window: deque[tuple[int, int]] = deque()  # (ts_ms, raw gross_g)
        self._last_seq: int | None = None
        self._armed = True
        self._in_zero_band = 0
        self._zero = 0
        self._flag_prev: int | None = None  # last raw value the scale flagged stable
        self.ignored = 0  # duplicate/late/non-ok readings, for status

    @property
    def zero_offset_g(self) -> int:
        return self._zero

    @property
    def armed(self) -> bool:
        """True while waiting for a load (False from a settle until the load is removed)."""
        return self._armed

    def hold(self) -> None:
        """A load settled before (e.g. before a restart) is still on the platform: wait for
        the readings to return to zero before the next settle counts."""
        self._armed = False
        self._in_zero_band = 0
        self._flag_prev = None

    def feed(self, reading: wire.ScaleReading) -> StableWeight | None:
        cfg = self.config
        last = self._last_seq
        if last is not None and last - SEQ_RESET < reading.seq <= last:
            self.ignored += 1
            return None
        self._last_seq = reading.seq
        if reading.status != "ok":
            self.ignored += 1
            self._window.clear()
            self._flag_prev = None
            return None
        if self._window and reading.ts_ms < self._window[-1][0]:
            self._window.clear()  # the scale's clock went back: start the window again
        raw = reading.gross_g
        self._window.append((reading.ts_ms, raw))
        start = reading.ts_ms - cfg.window_ms
        while len(self._window) >= 2 and self._window[1][0] <= start:
            self._window.popleft()

        net = raw - self._zero
        if not self._armed:
            self._in_zero_band = self._in_zero_band + 1 if abs(net) <= cfg.zero_band_g else 0
            if self._in_zero_band >= cfg.rearm_readings:
                self._armed = True
                self._flag_prev = None
            return None

        stable_value = self._stable_value(reading, raw)
        if stable_value is None:
            return None
        load = stable_value - self._zero
        if load >= cfg.min_load_g:
            self._armed = False
            self._in_zero_band = 0
            return StableWeight(
                scale=self.scale,
                gross_g=load,
                ts_ms=reading.ts_ms,
                readings=2 if reading.stable else len(self._window),
            )
        if abs(load) <= cfg.zero_band_g:
            self._track_zero(stable_value)
        return None

    def _stable_value(self, reading: wire.ScaleReading, raw: int) -> int | None:
        """The settled raw value if the scale is stable now, else None."""
        cfg = self.config
        if reading.stable is not None:
            # The scale decides; two flagged readings in a row that agree guard against a
            # single flag that firmware sets while the load is still moving.
            prev, self._flag_prev = self._flag_prev, (raw if reading.stable else None)
            if reading.stable and prev is not None and abs(raw - prev) <= cfg.tolerance_g:
                return raw
            return None
        window = self._window
        if len(window) < cfg.min_readings or window[0][0] > reading.ts_ms - cfg.window_ms:
            return None
        values = sorted(v for _, v in window)
        if values[-1] - values[0] > cfg.tolerance_g:
            return None
        return values[len(values) // 2]  # median: robust to one odd reading at the edge

    def _track_zero(self, value: int) -> None:
        if abs(value) <= self.config.zero_track_limit_g:  # the scale's own zero is 0
            self._zero = value
