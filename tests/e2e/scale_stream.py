"""Simulated scale streams: crates put on (ramp, overshoot, noise), settling, taken off."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    ts_ms: int
    gross_g: int
    seq: int


class ScaleStream:
    """Readings at a fixed period with a running clock and sequence number."""

    def __init__(
        self, *, start_ms: int, period_ms: int = 100, seed: int = 7, zero_noise_g: int = 3
    ) -> None:
        self.zero_noise_g = zero_noise_g
        self.ts_ms = start_ms
        self.period_ms = period_ms
        self.seq = 0
        self.rng = random.Random(seed)

    def _next(self, gross_g: int) -> Sample:
        s = Sample(self.ts_ms, gross_g, self.seq)
        self.ts_ms += self.period_ms
        self.seq += 1
        return s

    def empty(self, ms: int) -> Iterator[Sample]:
        for _ in range(max(1, ms // self.period_ms)):
            yield self._next(self.rng.randint(-self.zero_noise_g, self.zero_noise_g))

    def crate(self, gross_g: int, *, settle_ms: int, noise_g: int = 4) -> Iterator[Sample]:
        """Ramp up (with a 6 % overshoot), settle with small noise, ramp down to zero."""
        for frac in (0.2, 0.55, 0.9, 1.06, 0.97):
            yield self._next(int(gross_g * frac))
        for _ in range(max(1, settle_ms // self.period_ms)):
            yield self._next(gross_g + self.rng.randint(-noise_g, noise_g))
        for frac in (0.7, 0.3, 0.05):
            yield self._next(int(gross_g * frac))
        yield from self.empty(4 * self.period_ms)

    def never_settling(self, gross_g: int, ms: int, swing_g: int = 400) -> Iterator[Sample]:
        """A loaded scale that keeps swinging (wind, a crate being sorted on it)."""
        for i in range(max(1, ms // self.period_ms)):
            sign = 1 if i % 2 else -1
            yield self._next(gross_g + sign * self.rng.randint(swing_g // 2, swing_g))
