"""Conditions that last (server down, model missing, printer off) are logged once each."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from edge.logonce import OnceLog
from edge.station.grading_port import GradingPort
from gongfang import wire


def _records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_once_per_cause_then_resolved_once(caplog: pytest.LogCaptureFixture) -> None:
    once = OnceLog(logging.getLogger("t.once"))
    with caplog.at_level(logging.DEBUG, logger="t.once"):
        assert once.problem("sync", "refused", logging.WARNING, "同步失败 / down: %s", 1)
        assert not once.problem("sync", "refused", logging.WARNING, "同步失败 / down: %s", 2)
        assert once.problem("sync", "timeout", logging.WARNING, "同步失败 / down: %s", 3)
        assert once.active("sync")
        assert once.resolved("sync", "同步已恢复 / up")
        assert not once.resolved("sync", "同步已恢复 / up")
    assert _records(caplog, logging.WARNING) == ["同步失败 / down: 1", "同步失败 / down: 3"]
    assert _records(caplog, logging.DEBUG) == ["同步失败 / down: 2"]
    assert _records(caplog, logging.INFO) == ["同步已恢复 / up"]


def test_missing_model_is_logged_once_not_per_frame(caplog: pytest.LogCaptureFixture) -> None:
    broken = {"on": True}

    class Grader:
        def grade_jpeg(self, data: bytes, *, single: bool = False) -> dict[str, Any]:
            return {"lot_grade": "class_i", "model": {"name": "m", "version": "1"}, "items": []}

    def loader(product: wire.Product) -> Grader:
        if broken["on"]:
            raise FileNotFoundError("model.onnx missing")
        return Grader()

    port = GradingPort(
        products={"s1": wire.Product.STRAWBERRY}, on_graded=lambda *a: None, loader=loader
    )
    with caplog.at_level(logging.INFO, logger="edge.station.grading_port"):
        for _ in range(5):
            assert port.grade_now("s1", b"\xff\xd8\xff", 0).error
        assert port.preload() == {"strawberry": "error: model.onnx missing"}
        broken["on"] = False
        assert port.grade_now("s1", b"\xff\xd8\xff", 0).grade is wire.Grade.CLASS_I
    errors = _records(caplog, logging.ERROR)
    assert len(errors) == 1
    assert errors[0].startswith("分级模型不可用")  # Chinese first, then English
    assert "unavailable" in errors[0]
    assert [m for m in _records(caplog, logging.INFO) if "available again" in m]
    assert port.errors == 5
