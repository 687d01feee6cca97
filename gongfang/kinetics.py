"""Mean kinetic temperature (DESIGN.md "Cold chain"), shared by the edge and the server.

T = (ΔH/R) / −ln(Σ e^(−ΔH/(R·Tᵢ)) / n) in kelvin, with ΔH/R = 10,000 K.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

DH_OVER_R_K = 10_000.0
KELVIN = 273.15


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
