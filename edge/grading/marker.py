"""The ArUco scale marker: DICT_4X4_50 id 0, black square side 40 mm, in the produce plane."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

MARKER_ID = 0
MARKER_SIDE_MM = 40.0


@dataclass(frozen=True)
class Marker:
    """Outer corners of the black square (px, clockwise from its top-left) and the scale."""

    corners: np.ndarray
    mm_per_px: float

    def exclusion_polygon(self, grow: float = 1.5) -> np.ndarray:
        """The marker and its paper: the square scaled by ``grow`` about its centre."""
        c = self.corners.mean(0)
        return np.asarray((self.corners - c) * grow + c, np.float32)


@cache
def _detector() -> cv2.aruco.ArucoDetector:
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    params.cornerRefinementWinSize = 5
    params.cornerRefinementMinAccuracy = 0.01
    params.cornerRefinementMaxIterations = 50
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    return cv2.aruco.ArucoDetector(dictionary, params)


def find_marker(gray: np.ndarray) -> Marker | None:
    """The scale marker in a grey image, or ``None`` when it is not (fully) visible."""
    corners, ids, _ = _detector().detectMarkers(gray)
    if ids is None:
        return None
    for quad, mid in zip(corners, ids.ravel(), strict=True):
        if int(mid) != MARKER_ID:
            continue
        pts = np.asarray(quad, np.float64).reshape(4, 2)
        sides = np.linalg.norm(pts - np.roll(pts, -1, axis=0), axis=1)
        side_px = float(sides.mean())
        if side_px < 12:  # too small to give a usable scale
            return None
        return Marker(pts.astype(np.float32), MARKER_SIDE_MM / side_px)
    return None
