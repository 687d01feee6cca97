"""The station's kept photos: every graded camera frame, by its SHA-256, within a disk cap.

A lot names its photo by hash (``LotRecord.image_hashes``); this store keeps the bytes, so
staff can look at the crate a grade came from and photos can be labelled to retrain the
graders. Files are ``<root>/<sha[:2]>/<sha>.jpg``, written to a temporary name and
renamed, so a crash never leaves half a photo under a real name. Past ``max_bytes`` the
least recently kept photos are deleted first. Disk trouble is logged and counted; it
never stops grading.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)

_SUFFIX = ".jpg"


class PhotoStore:
    """Content-addressed photo files under ``root``, at most ``max_bytes`` in all."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        # sha -> size, least recently kept first (rebuilt from the files' mtimes)
        self._index: OrderedDict[str, int] = OrderedDict()
        self.total_bytes = 0
        self.kept = 0
        self.pruned = 0
        self.errors = 0
        self._load()

    def _load(self) -> None:
        found: list[tuple[float, str, int]] = []
        for path in self.root.glob(f"??/*{_SUFFIX}"):
            try:
                st = path.stat()
            except OSError:
                continue
            found.append((st.st_mtime, path.stem, st.st_size))
        for _, sha, size in sorted(found):
            self._index[sha] = size
            self.total_bytes += size

    def path(self, sha256: str) -> Path:
        """Where the photo with this hash is (or would be) kept."""
        return self.root / sha256[:2] / f"{sha256}{_SUFFIX}"

    def get(self, sha256: str) -> bytes | None:
        """The kept photo's bytes, or None if it was never kept or has been pruned."""
        try:
            return self.path(sha256).read_bytes()
        except (OSError, ValueError):
            return None

    def __len__(self) -> int:
        return len(self._index)

    def keep(self, data: bytes, sha256: str | None = None) -> str | None:
        """Keep ``data`` (``sha256`` if already known); returns its hash, or None if the
        cap is 0, the photo alone exceeds it, or the disk refused (logged and counted)."""
        if not data or len(data) > self.max_bytes:
            return None
        sha = sha256 or hashlib.sha256(data).hexdigest()
        path = self.path(sha)
        with self._lock:
            try:
                if sha in self._index:
                    try:
                        os.utime(path)  # kept again: now the most recent
                        self._index.move_to_end(sha)
                        return sha
                    except FileNotFoundError:  # deleted by hand: write it again
                        self.total_bytes -= self._index.pop(sha)
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                    os.replace(tmp, path)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            except OSError as exc:
                self.errors += 1
                log.warning("照片未能保存 / photo %s not kept: %s", sha[:12], exc)
                return None
            self._index[sha] = len(data)
            self.total_bytes += len(data)
            self.kept += 1
            self._prune()
        return sha

    def _prune(self) -> None:
        while self.total_bytes > self.max_bytes and len(self._index) > 1:
            sha, size = next(iter(self._index.items()))  # the newest (just kept) is last
            try:
                self.path(sha).unlink(missing_ok=True)
            except OSError as exc:
                self.errors += 1
                log.warning("旧照片未能删除 / old photo %s not deleted: %s", sha[:12], exc)
                break
            del self._index[sha]
            self.total_bytes -= size
            self.pruned += 1

    def stats(self) -> dict[str, int]:
        return {
            "photos": len(self._index),
            "bytes": self.total_bytes,
            "max_bytes": self.max_bytes,
            "kept": self.kept,
            "pruned": self.pruned,
            "errors": self.errors,
        }
