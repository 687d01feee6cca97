"""Temperature kinetics (DESIGN.md "Cold chain"), shared by the edge and the server.

MKT: T = (ΔH/R) / −ln(Σ e^(−ΔH/(R·Tᵢ)) / n) in kelvin, with ΔH/R = 10,000 K.
Shelf life relative to 0 °C (Q10 table): 100 / 33 / 13 / 7 / 4 % at 0 / 10 / 20 / 30 / 40 °C,
linearly interpolated and held constant outside 0–40 °C (below 0 °C the produce is not
kept longer by this model; freezing damage is an alarm, not a bonus).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

DH_OVER_R_K = 10_000.0
KELVIN = 273.15
#: (°C, shelf life in % of the shelf life at 0 °C)
SHELF_LIFE_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, 100.0),
    (10.0, 33.0),
    (20.0, 13.0),
    (30.0, 7.0),
    (40.0, 4.0),
)
#: Storage life at 0 °C per product, the base of the table (edge/coldchain/rules.py says why).
SHELF_LIFE_H_AT_0C: dict[str, float] = {"strawberry": 7 * 24.0, "ruoye": 30 * 24.0}


def mean_kinetic_temperature(temps_c: Iterable[float], dh_over_r_k: float = DH_OVER_R_K) -> float:
    """MKT in °C of equally spaced temperature samples (raises ValueError when empty)."""
    temps = list(temps_c)
    if not temps:
        raise ValueError("MKT needs at least one temperature")
    # Σ e^(−a/Tᵢ) computed around the largest term so that it neither under- nor overflows.
    exps = [-dh_over_r_k / (t + KELVIN) for t in temps]
    top = max(exps)
    mean = math.fsum(math.exp(e - top) for e in exps) / len(exps)
    return dh_over_r_k / -(top + math.log(mean)) - KELVIN


def relative_shelf_life(temp_c: float) -> float:
    """Shelf life at ``temp_c`` as a fraction of the shelf life at 0 °C (1.0 … 0.04)."""
    table = SHELF_LIFE_TABLE
    if temp_c <= table[0][0]:
        return table[0][1] / 100
    for (t0, p0), (t1, p1) in zip(table, table[1:], strict=False):
        if temp_c <= t1:
            return (p0 + (p1 - p0) * (temp_c - t0) / (t1 - t0)) / 100
    return table[-1][1] / 100


def shelf_life_used_h(minutes_at: Iterable[tuple[float, float]]) -> float:
    """0 °C-equivalent hours used by ``(minutes, temp_c)`` spells: an hour at 10 °C uses
    1 / 0.33 ≈ 3 hours of the 0 °C shelf life."""
    return math.fsum(m / 60 / relative_shelf_life(t) for m, t in minutes_at)
