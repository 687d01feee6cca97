"""Weighing: the stable-weight detector (pure) and the crate tare table."""

from edge.weighing.detector import StableWeight, StableWeightDetector, WeighingConfig
from edge.weighing.tare import DEFAULT_CRATES, CrateTare, tare_g

__all__ = [
    "DEFAULT_CRATES",
    "CrateTare",
    "StableWeight",
    "StableWeightDetector",
    "WeighingConfig",
    "tare_g",
]
