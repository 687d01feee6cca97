"""Stable-weight detector: simulated scale streams (ramp, noise, settle, removal), both
reading styles, zero tracking, and hypothesis properties."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.weighing.detector import StableWeight, StableWeightDetector, WeighingConfig
from gongfang import wire
from gongfang.settings import EdgeSettings

CFG = WeighingConfig()  # 1500 ms window, 20 g tolerance, 500 g minimum load, 50 g zero band
PERIOD_MS = 100  # 10 readings per second, a typical continuous-output indicator


@dataclass
class Sim:
    """A scale indicator's output: monotonically numbered readings every PERIOD_MS."""

    rng: random.Random
    flags: bool = False  # the scale reports stable: true/false itself
    ts_ms: int = 1_700_000_000_000
    seq: int = 0
    zero_g: int = 0  # the empty platform's drift

    def reading(self, gross_g: int, stable: bool | None = None) -> wire.ScaleReading:
        self.ts_ms += PERIOD_MS
        self.seq += 1
        return wire.ScaleReading(
            ts_ms=self.ts_ms,
            gross_g=gross_g + self.zero_g,
            seq=self.seq,
            stable=stable if self.flags else None,
        )

    def idle(self, n: int) -> Iterator[wire.ScaleReading]:
        for _ in range(n):
            yield self.reading(self.rng.randint(-4, 4), stable=True)

    def crate(self, load_g: int) -> Iterator[wire.ScaleReading]:
        """Placed (ramp with overshoot and a decaying swing), settles 2.5 s, removed."""
        steps = self.rng.randint(3, 8)
        for i in range(1, steps + 1):
            yield self.reading(load_g * i // steps + self.rng.randint(-300, 300), stable=False)
        swing = self.rng.randint(150, 600)
        for i in range(self.rng.randint(4, 12)):
            amp = swing * (0.6**i)
            yield self.reading(load_g + int(amp * (-1) ** i), stable=False)
        for _ in range(25):
            yield self.reading(load_g + self.rng.randint(-6, 6), stable=True)
        for i in range(self.rng.randint(2, 5), 0, -1):
            yield self.reading(load_g * i // 6 + self.rng.randint(-200, 200), stable=False)


def _run(det: StableWeightDetector, readings: Iterator[wire.ScaleReading]) -> list[StableWeight]:
    return [w for r in readings if (w := det.feed(r)) is not None]


@pytest.mark.parametrize("flags", [False, True], ids=["no-flag", "stable-flag"])
@pytest.mark.parametrize("seed", range(8))
def test_one_stable_weight_per_crate(seed: int, flags: bool) -> None:
    rng = random.Random(seed)
    sim = Sim(rng, flags=flags)
    det = StableWeightDetector("s1", CFG)
    loads = [rng.randint(600, 30_000) for _ in range(6)]
    got: list[StableWeight] = []
    for load in loads:
        got += _run(det, sim.idle(rng.randint(3, 15)))
        got += _run(det, sim.crate(load))
    got += _run(det, sim.idle(10))
    assert [w.scale for w in got] == ["s1"] * len(loads)
    for w, load in zip(got, loads, strict=True):
        assert abs(w.gross_g - load) <= 10, (w, load)
        assert w.readings >= 2


@pytest.mark.parametrize("seed", range(4))
def test_never_settling_stream_makes_nothing(seed: int) -> None:
    """A crate being filled on the scale / a swaying load: each step moves > tolerance."""
    rng = random.Random(seed)
    sim = Sim(rng)
    det = StableWeightDetector("s1", CFG)
    value = 5000
    stream = []
    for _ in range(600):  # one minute
        value += rng.choice([-1, 1]) * rng.randint(CFG.tolerance_g + 1, 400)
        value = max(CFG.min_load_g + 500, value)
        stream.append(sim.reading(value))
    assert _run(det, iter(stream)) == []


def test_scale_flagging_stable_is_trusted_but_not_a_single_flag() -> None:
    sim = Sim(random.Random(1), flags=True)
    det = StableWeightDetector("s1", CFG)
    # One stray stable flag in the middle of the ramp does not make a weight.
    assert det.feed(sim.reading(3000, stable=True)) is None
    assert det.feed(sim.reading(4200, stable=False)) is None
    assert det.feed(sim.reading(5003, stable=True)) is None
    w = det.feed(sim.reading(5001, stable=True))  # two agreeing flags: settled at once
    assert w is not None
    assert w.gross_g == 5001
    # stable: false never settles, however steady the numbers are.
    det2 = StableWeightDetector("s2", CFG)
    assert _run(det2, (sim.reading(5000, stable=False) for _ in range(50))) == []


def test_non_ok_status_duplicate_and_late_seq_are_ignored() -> None:
    sim = Sim(random.Random(2))
    det = StableWeightDetector("s1", CFG)
    first = [sim.reading(8000) for _ in range(10)]
    for r in first:
        assert det.feed(r) is None
    # Overload interrupts the window: the next settle needs a full window again.
    over = wire.ScaleReading(ts_ms=sim.ts_ms + 1, gross_g=0, seq=sim.seq + 1, status="overload")
    sim.seq += 1
    assert det.feed(over) is None
    replay = [*first, *first]  # duplicates / late (seq not newer): ignored
    assert _run(det, iter(replay)) == []
    assert det.ignored == 1 + len(replay)
    got = _run(det, (sim.reading(8000) for _ in range(16)))
    assert [w.gross_g for w in got] == [8000]


def test_scale_restart_resets_seq() -> None:
    sim = Sim(random.Random(3))
    det = StableWeightDetector("s1", CFG)
    sim.seq = 50_000
    assert len(_run(det, sim.crate(2000))) == 1
    sim.seq = 0  # power-cycled indicator starts counting again
    assert len(_run(det, sim.idle(3))) == 0
    assert len(_run(det, sim.crate(3000))) == 1


def test_zero_tracking_follows_drift_and_is_subtracted() -> None:
    sim = Sim(random.Random(4))
    det = StableWeightDetector("s1", CFG)
    for _ in range(30):  # drift 30 g in 1 g steps while empty, slower than the window
        sim.zero_g += 1
        _run(det, (sim.reading(0) for _ in range(20)))
    assert 25 <= det.zero_offset_g <= 31
    got = _run(det, sim.crate(4000))
    assert len(got) == 1
    assert abs(got[0].gross_g - 4000) <= 8
    # A load below the minimum but outside the zero band is not drift.
    det2 = StableWeightDetector("s2", CFG)
    _run(det2, (sim.reading(300 - sim.zero_g) for _ in range(40)))
    assert det2.zero_offset_g == 0


def test_config_from_settings_and_validation() -> None:
    s = EdgeSettings(stable_window_ms=900, stable_tolerance_g=10, min_load_g=800, zero_band_g=30)
    cfg = WeighingConfig.from_settings(s)
    assert (cfg.window_ms, cfg.tolerance_g, cfg.min_load_g, cfg.zero_band_g) == (900, 10, 800, 30)
    with pytest.raises(ValueError, match="min_load_g"):
        WeighingConfig(min_load_g=40, zero_band_g=50)


# ---------------------------------------------------------------- properties

_steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=400),  # ms to the next reading
        st.integers(min_value=CFG.tolerance_g + 1, max_value=2000),  # size of the move
        st.booleans(),  # up or down
    ),
    min_size=1,
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(start=st.integers(min_value=-2000, max_value=40_000), steps=_steps)
def test_property_no_weight_unless_within_tolerance_for_the_window(
    start: int, steps: list[tuple[int, int, bool]]
) -> None:
    """Consecutive readings always differ by more than the tolerance, so no window of
    readings ever stays within it: the detector must never report a weight."""
    det = StableWeightDetector("s", CFG)
    ts, value = 1_000_000, start
    for seq, (dt, move, up) in enumerate(steps):
        ts += dt
        value += move if up else -move
        assert det.feed(wire.ScaleReading(ts_ms=ts, gross_g=value, seq=seq)) is None


_placement = st.tuples(
    st.integers(min_value=CFG.min_load_g + 100, max_value=50_000),  # load
    st.lists(st.integers(min_value=-400, max_value=400), max_size=40),  # unsettled wobble
    st.integers(min_value=0, max_value=40),  # settled readings (noise within ±tolerance/2)
    st.lists(st.integers(min_value=-CFG.tolerance_g // 2, max_value=CFG.tolerance_g // 2)),
)


@settings(max_examples=100, deadline=None)
@given(placements=st.lists(_placement, min_size=1, max_size=6), period=st.integers(50, 400))
def test_property_at_most_one_weight_per_placement(
    placements: list[tuple[int, list[int], int, list[int]]], period: int
) -> None:
    """Whatever a load does while it is on the scale, one placement gives at most one
    weight, and exactly one when it rests within tolerance for longer than the window."""
    det = StableWeightDetector("s", CFG)
    ts, seq = 0, 0

    def feed(value: int) -> StableWeight | None:
        nonlocal ts, seq
        ts += period
        seq += 1
        return det.feed(wire.ScaleReading(ts_ms=ts, gross_g=value, seq=seq))

    for load, wobble, settled, noise in placements:
        got = [w for v in wobble if (w := feed(max(load + v, CFG.min_load_g))) is not None]
        for i in range(settled):
            if (w := feed(load + (noise[i % len(noise)] if noise else 0))) is not None:
                got.append(w)
        assert len(got) <= 1
        covered = (settled - 1) * period >= CFG.window_ms and settled >= CFG.min_readings
        if covered:
            assert len(got) == 1
        for _ in range(CFG.rearm_readings):
            assert feed(0) is None  # removal
