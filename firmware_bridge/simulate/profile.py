"""What a platform scale shows while a crate is weighed: zero, ramp, settling, removal."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    t_ms: int  # from the start of the weighing
    grams: int
    settled: bool  # the physical load is at rest (what a stable flag would say)


@dataclass(frozen=True, slots=True)
class Phases:
    """Durations of one weighing, ms."""

    lead_ms: int = 1000  # empty platform before the crate
    ramp_ms: int = 400  # crate being set down
    settle_ms: int = 1400  # damped swinging
    stable_ms: int = 2600  # at rest (the edge detector needs 1.5 s)
    removal_ms: int = 300
    tail_ms: int = 800


def quantise(grams: float, division_g: int) -> int:
    """Round to the indicator's division (10 g on a 150 kg platform scale)."""
    return int(round(grams / division_g)) * division_g


def crate_weighing(
    rng: random.Random,
    gross_g: int,
    *,
    period_ms: int = 200,
    division_g: int = 10,
    phases: Phases | None = None,
    unsettled: bool = False,
) -> tuple[list[Sample], int]:
    """Samples every ``period_ms`` of one crate on and off the platform.

    Returns the samples and the offset (ms) at which the load came to rest. With
    ``unsettled`` the swinging never dies down (a scale that never settles).
    """
    ph = phases or Phases()
    amplitude = max(60.0, gross_g * 0.03)
    omega = 2 * math.pi / 700  # ~0.7 s swing
    t_on = ph.lead_ms
    t_rest = t_on + ph.ramp_ms + ph.settle_ms
    t_off = t_rest + ph.stable_ms
    t_end = t_off + ph.removal_ms + ph.tail_ms
    samples: list[Sample] = []
    for t in range(0, t_end + 1, period_ms):
        if t < t_on or t >= t_off + ph.removal_ms:
            grams = 0.0
        elif t < t_on + ph.ramp_ms:
            grams = gross_g * (t - t_on) / ph.ramp_ms
        elif t < t_rest or unsettled:
            decay = 1.0 if unsettled else math.exp(-(t - t_on - ph.ramp_ms) / (ph.settle_ms / 3))
            swing = amplitude * decay * math.sin(omega * (t - t_on))
            grams = gross_g + swing + rng.gauss(0, amplitude * 0.1 * decay)
        elif t < t_off:
            grams = gross_g
        else:
            grams = gross_g * (1 - (t - t_off) / ph.removal_ms)
        samples.append(
            Sample(t, quantise(grams, division_g), t_rest <= t < t_off and not unsettled)
        )
    return samples, t_rest
