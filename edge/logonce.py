"""Warnings that repeat while a condition lasts are logged once per condition.

A server down for hours, a printer out of paper or a missing model would otherwise log
the same line on every retry, frame or receipt and bury everything else. The first
occurrence (or a change of cause) is logged at the given level, repeats at debug, and
the end of the condition once at info. Messages are Chinese first, then English.
"""

from __future__ import annotations

import logging
import threading
from typing import Any


class OnceLog:
    """Per-condition logging for one logger; thread-safe."""

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._active: dict[str, str] = {}  # condition key -> the cause logged
        self._lock = threading.Lock()

    def problem(self, key: str, cause: str, level: int, msg: str, *args: Any) -> bool:
        """Log ``msg`` unless ``key`` is already active with the same ``cause``; returns
        whether it was logged at ``level``."""
        with self._lock:
            fresh = self._active.get(key) != cause
            self._active[key] = cause
        self._log.log(level if fresh else logging.DEBUG, msg, *args)
        return fresh

    def resolved(self, key: str, msg: str, *args: Any) -> bool:
        """Log ``msg`` at info if ``key`` was active; returns whether it was."""
        with self._lock:
            was = self._active.pop(key, None) is not None
        if was:
            self._log.info(msg, *args)
        return was

    def active(self, key: str) -> bool:
        with self._lock:
            return key in self._active
