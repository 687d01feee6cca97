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

HOW = "set GONGFANG_DATA to the shared photo folder (its README says what and whence)"
#: every folder a test of the shipped models reads
PHOTO_SETS = (
    "strawberry/riseholme-2021",
    "strawberry/brix-ripeness/labels.csv",
    "strawberry/brix-ripeness/images",
)
#: tests that ask for one of these fixtures need the photo sets
PHOTO_FIXTURES = frozenset({"data_dir", "photo_root"})


def in_ci() -> bool:
    """True when the CI environment says so (``CI=true``, as .ci/run is started)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_photos(*paths: str) -> Path:
    """The photo data root, after checking that each ``root/path`` exists; skip or fail if not.

    The message names the root only, so every skipped test reports the same line.
    """
    root = default_data_dir()
    missing = [p for p in (paths or PHOTO_SETS) if not (root / p).exists()]
    if missing:
        msg = f"photo sets not found under {root}: {HOW}"
        if in_ci():
            pytest.fail(f"{msg} (CI=true: the photos must be present)", pytrace=False)
        pytest.skip(msg)
    return root
