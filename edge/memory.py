"""Keep the edge process's memory flat: glibc's allocator tuned for big, short-lived frames.

Grading a camera frame makes a few full-frame arrays of several MB each and frees them.
glibc raises its mmap threshold to the size of the largest block freed so far (up to
32 MB), so after the first frame these arrays come from the heap, where freed memory is
kept and fragments: resident memory then climbs by tens of MB and stays there. A fixed
threshold keeps big arrays in their own mappings, returned to the system when freed,
and two arenas are plenty for a process whose threads mostly wait. This changes where
memory comes from, never what a program computes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

log = logging.getLogger(__name__)

MMAP_THRESHOLD_BYTES = 256 * 1024
ARENA_MAX = 2
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)
_M_ARENA_MAX = -8

_lock = threading.Lock()
_done: bool | None = None


def tune_allocator() -> bool:
    """Apply the settings once per process (glibc only); ``False`` where not applicable."""
    global _done
    with _lock:
        if _done is not None:
            return _done
        _done = False
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
            log.debug("mallopt unavailable; allocator left as it is")
            return False
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
        ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
        ok = bool(mallopt(_M_ARENA_MAX, ARENA_MAX)) and ok
        _done = ok
        return ok
