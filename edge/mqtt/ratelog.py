"""Logging for events that can come by the thousand (bad payloads, a failing handler)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any


class RateLimitedLog:
    """The first ``burst`` events one line each, then at most one line per ``every_s``
    seconds, which says how many went unlogged since the line before.

    A sensor sending garbage at 100 Hz would otherwise fill the disk with one line per
    message. Not thread-safe: each instance is fed by one thread.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        burst: int = 10,
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._burst = burst
        self._every_s = every_s
        self._clock = clock
        self._logged = 0
        self._unlogged = 0
        self._last_at = 0.0

    def log(self, level: int, msg: str, *args: Any, exc_info: bool = False) -> bool:
        """Log ``msg % args`` if the budget allows; returns whether a line was written."""
        now = self._clock()
        if self._logged < self._burst:
            self._logged += 1
        elif now - self._last_at >= self._every_s:
            n = self._unlogged
            msg += "（此前 %d 条未逐条记录）/ (%d before it not logged one by one)"
            args = (*args, n, n)
        else:
            self._unlogged += 1
            return False
        self._log.log(level, msg, *args, exc_info=exc_info)
        self._unlogged = 0
        self._last_at = now
        return True
