"""Fixtures for the model tests: the photo folder (must exist) and the shipped classifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.strawberry.dataset import default_data_dir


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``$GONGFANG_DATA`` or ``<repo>/../shared/data``; a missing folder FAILS the test."""
    d = default_data_dir()
    if not (d / "strawberry" / "riseholme-2021").is_dir():
        pytest.fail(
            f"strawberry photos not found at {d} (set GONGFANG_DATA to the shared data folder)"
        )
    return d


@pytest.fixture(scope="session")
def classifier():
    """The shipped strawberry model through onnxruntime."""
    from models.strawberry.evaluate import Classifier

    return Classifier()
