"""The one way tests reach the real photo sets: ``$GONGFANG_DATA`` (default ``../shared/data``).

A fresh clone has nothing beside it, so outside CI a test that needs the photos is skipped
with one line naming the variable; under ``CI=true`` the photos must be there and their
absence fails the test (CI always has them, so a skip there would hide a broken mount).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.strawberry.dataset import default_data_dir

HOW = "set GONGFANG_DATA to the shared photo folder (data/README.md: what and whence)"


def in_ci() -> bool:
    """True when the CI environment says so (``CI=true``, as .ci/run is started)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_photos(*paths: str) -> Path:
    """The photo data root, after checking that each ``root/path`` exists; skip or fail if not."""
    root = default_data_dir()
    missing = [root / p for p in paths if not (root / p).exists()]
    if missing:
        msg = f"photo sets not found at {missing[0]}: {HOW}"
        if in_ci():
            pytest.fail(f"{msg} (CI=true: the photos must be present)", pytrace=False)
        pytest.skip(msg)
    return root
