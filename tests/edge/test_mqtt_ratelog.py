"""RateLimitedLog: a burst line by line, then one line per interval that counts the rest."""

from __future__ import annotations

import logging

import pytest

from edge.mqtt.ratelog import RateLimitedLog


def test_burst_then_one_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    rl = RateLimitedLog(logging.getLogger("t.rate"), burst=3, every_s=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="t.rate"):
        written = [rl.log(logging.WARNING, "bad %d", i) for i in range(8)]  # same instant
        now[0] += 10.0
        written.append(rl.log(logging.WARNING, "bad %d", 8))
        written.append(rl.log(logging.WARNING, "bad %d", 9))
    assert written == [True] * 3 + [False] * 5 + [True, False]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:3] == ["bad 0", "bad 1", "bad 2"]
    assert lines[3].startswith("bad 8")
    assert "(5 before it not logged one by one)" in lines[3]
    assert len(lines) == 4
