"""The vendored browser libraries are exactly what the lock file says, nothing more."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "gongfang" / "web" / "static" / "vendor"
LOCK = json.loads((ROOT / "gongfang" / "web" / "vendor.lock.json").read_text())


def _script_pins() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("vendor_web", ROOT / "scripts" / "vendor_web.py")
    assert spec
    assert spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return {name: version for name, version, _files in mod.PINS}


def test_every_file_matches_its_hash() -> None:
    listed = set()
    for name, entry in LOCK.items():
        assert entry["integrity"].startswith("sha512-"), name
        for file, digest in entry["files"].items():
            listed.add(file)
            assert hashlib.sha256((VENDOR / file).read_bytes()).hexdigest() == digest, file
    present = {p.name for p in VENDOR.iterdir()}
    assert present == listed, f"unlisted: {present - listed}, missing: {listed - present}"


def test_lock_matches_the_pinned_versions() -> None:
    assert {n: e["version"] for n, e in LOCK.items()} == _script_pins()


def test_every_library_ships_its_licence() -> None:
    for name, entry in LOCK.items():
        assert any("LICENSE" in f for f in entry["files"]), name
