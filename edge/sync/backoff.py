"""Retry delays shared by the lot outbox and the photo uploads."""

from __future__ import annotations

import random


def backoff_s(failures: int, *, base_s: float, max_s: float) -> float:
    """Exponential backoff with "equal jitter": in [d/2, d], d = min(max, base·2^(n−1))."""
    delay = min(max_s, base_s * (2 ** max(0, failures - 1)))
    return random.uniform(delay / 2, delay)  # noqa: S311 - jitter, not security
