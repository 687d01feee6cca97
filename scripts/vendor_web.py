#!/usr/bin/env python3
"""Copy the pages' browser libraries from the npm registry into gongfang/web/static/vendor/.

Each library is fetched with ``npm pack NAME@VERSION`` (pinned here), its files copied
unmodified next to its licence, and ``gongfang/web/vendor.lock.json`` records the version,
the tarball's integrity and the SHA-256 of every copied file; tests/web/test_vendor.py checks
the folder against that lock. Run it only to change a version: ``python scripts/vendor_web.py``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "gongfang" / "web" / "static" / "vendor"
LOCK = ROOT / "gongfang" / "web" / "vendor.lock.json"

# name, version, {file in the package: name under vendor/}
PINS: list[tuple[str, str, dict[str, str]]] = [
    ("htmx.org", "2.0.11", {
        "dist/htmx.min.js": "htmx.min.js",
        "LICENSE": "htmx.org.LICENSE",
    }),
    ("uplot", "1.6.32", {
        "dist/uPlot.iife.min.js": "uPlot.iife.min.js",
        "dist/uPlot.min.css": "uPlot.min.css",
        "LICENSE": "uplot.LICENSE",
    }),
    ("swagger-ui-dist", "5.35.0", {
        "swagger-ui-bundle.js": "swagger-ui-bundle.js",
        "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",
        "swagger-ui.css": "swagger-ui.css",
        "favicon-32x32.png": "swagger-favicon-32x32.png",
        "LICENSE": "swagger-ui-dist.LICENSE",
    }),
    ("redoc", "2.5.4", {
        "bundles/redoc.standalone.js": "redoc.standalone.js",
        "bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt",
        "LICENSE": "redoc.LICENSE",
    }),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(name: str, version: str, files: dict[str, str], work: Path) -> dict[str, object]:
    """Pack one pinned package, copy its files; the lock entry."""
    out = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(work)],
        check=True, capture_output=True, text=True,
    )
    info = json.loads(out.stdout)[0]
    with tarfile.open(work / info["filename"]) as tar:
        tar.extractall(work / name, filter="data")
    pkg = work / name / "package"
    hashes = {}
    for src, dest in files.items():
        shutil.copyfile(pkg / src, VENDOR / dest)
        hashes[dest] = sha256(VENDOR / dest)
    return {"version": version, "integrity": info["integrity"], "files": hashes}


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    for old in VENDOR.iterdir():
        old.unlink()
    lock: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, files in PINS:
            lock[name] = fetch(name, version, files, Path(tmp))
            print(f"{name}@{version}: {len(files)} files")
    LOCK.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
