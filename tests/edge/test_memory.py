"""The allocator tuning of the edge process (glibc's mallopt)."""

from __future__ import annotations

import platform

from edge import memory


def test_tune_allocator_applies_once_on_glibc() -> None:
    first = memory.tune_allocator()
    assert memory.tune_allocator() is first  # idempotent: applied once per process
    if platform.libc_ver()[0] == "glibc":
        assert first is True
