"""Fixtures for the model tests: the photo folder and the shipped classifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.photo_data import require_photos


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The photo sets (``$GONGFANG_DATA``); skipped outside CI when absent, failed in CI."""
    return require_photos()


@pytest.fixture(scope="session")
def classifier():
    """The shipped strawberry model through onnxruntime."""
    from models.strawberry.evaluate import Classifier

    return Classifier()
