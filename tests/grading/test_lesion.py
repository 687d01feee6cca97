"""The lesion figure on synthetic fruit: known lesion areas, clean fruit, the rule's use."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.grading import annotate, lesion, rules
from edge.grading.api import load_grader
from edge.grading.background import to_lab
from edge.grading.marker import find_marker
from edge.grading.strawberry import scan, small_crops
from models.common.preprocess import square_resize
from models.render.strawberry import render_table_photo

RED = (40, 40, 200)  # BGR ripe skin
BROWN = (45, 62, 100)  # BGR rot: dull, orange-hued, dark (L 30, C 23, h 50°)
GREEN = (40, 160, 60)  # BGR sepal
TABLE = (235, 238, 240)
LEAVES = (40, 90, 30)


def _fruit(
    size: int = 64,
    patch_r: int = 0,
    calyx: bool = False,
    backdrop: tuple[int, int, int] = TABLE,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """A red disc (r = 0.36 size) on a backdrop, optionally with a brown patch and a calyx;
    returns the BGR crop and the patch's share of the disc in %."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size, 3), backdrop, np.uint8)
    c, r = size // 2, int(0.36 * size)
    cv2.circle(img, (c, c), r, RED, -1)
    if patch_r:
        cv2.circle(img, (c + r // 4, c + r // 5), patch_r, BROWN, -1)
    if calyx:
        for ang in np.linspace(0, np.pi, 5):
            tip = (int(c + r * 0.9 * np.cos(ang)), int(c - r * 0.85 - 4 * np.sin(ang)))
            cv2.ellipse(img, tip, (6, 3), float(np.degrees(ang)), 0, 360, GREEN, -1)
    noise = rng.normal(0, 2, img.shape)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    return img, 100.0 * patch_r**2 / r**2


def _crop_pct(img: np.ndarray) -> float:
    return lesion.crop_lesions(*small_crops([square_resize(img, 64)])).pct[0]


@pytest.mark.parametrize("backdrop", [TABLE, LEAVES])
@pytest.mark.parametrize("patch_r", [6, 10, 14])
def test_brown_patch_area_is_measured_on_a_crop(
    backdrop: tuple[int, int, int], patch_r: int
) -> None:
    img, _ = _fruit(96, patch_r=patch_r, backdrop=backdrop)
    got = _crop_pct(img)
    # measured at 32 px inside a rim of one pixel (3 px here), so of a disc of r - 3
    truth = 100.0 * patch_r**2 / (int(0.36 * 96) - 3) ** 2
    assert got == pytest.approx(truth, abs=max(3.0, 0.2 * truth))


@pytest.mark.parametrize("backdrop", [TABLE, LEAVES])
def test_clean_fruit_with_calyx_has_no_lesion(backdrop: tuple[int, int, int]) -> None:
    for seed in range(3):
        img, _ = _fruit(96, calyx=True, backdrop=backdrop, seed=seed)
        assert _crop_pct(img) < 2.0


def test_body_mask_path_counts_the_patch() -> None:
    img, truth = _fruit(200, patch_r=30)
    body = np.zeros(img.shape[:2], np.uint8)
    cv2.circle(body, (100, 100), 72, 255, -1)
    pct, mask = lesion.lesion_pct(to_lab(img), body)
    assert pct == pytest.approx(truth * 72**2 / 70**2, abs=2.0)  # rim eroded 2 px
    assert mask.shape == body.shape
    assert mask[120, 114]
    clean, _ = _fruit(200)
    assert lesion.lesion_pct(to_lab(clean), body)[0] < 1.0


def test_colour_classes() -> None:
    px = np.array(
        [
            [20.0, 2.0, 3.0],  # black rot
            [40.0, 12.0, 20.0],  # brown rot
            [60.0, 1.0, -2.0],  # grey mould
            [65.0, 18.0, 5.0],  # mildew-pink
            [45.0, 60.0, 40.0],  # ripe skin
            [80.0, -6.0, 20.0],  # unripe flesh
            [70.0, 40.0, 55.0],  # orange turning skin
            [85.0, 0.0, 6.0],  # white flesh, faintly yellow
        ],
        np.float32,
    )
    assert lesion.lesion_pixels(px).tolist() == [True] * 4 + [False] * 4


def test_rule_overrides_the_classifier_above_the_threshold() -> None:
    t = rules.STRAWBERRY_LESION_DEFECT_PCT
    assert rules.strawberry_label("ripe", t) == "ripe"
    assert rules.strawberry_label("ripe", t + 0.1) == "defect"
    kw = {"white_fraction": 0.0, "diameter_mm": 30.0}
    assert rules.strawberry_fruit_grade(label="ripe", lesion_pct=t, **kw) == rules.Grade.EXTRA
    assert rules.strawberry_fruit_grade(label="ripe", lesion_pct=t + 1, **kw) == rules.Grade.REJECT
    assert rules.strawberry_fruit_grade(label="ripe", **kw) == rules.Grade.EXTRA


def test_single_crop_with_rot_is_defect_and_drawn() -> None:
    g = load_grader("strawberry")
    rotten, _ = _fruit(96, patch_r=18)
    res, drawn = g.grade_image_annotated(rotten, single=True)
    item = res["items"][0]
    assert item["lesion_pct"] > rules.STRAWBERRY_LESION_DEFECT_PCT
    assert item["label"] == "defect"
    assert item["grade"] == "reject"
    assert res["lot_grade"] == "reject"
    magenta = (drawn[..., 0] > 150) & (drawn[..., 1] < 110) & (drawn[..., 2] > 150)
    assert magenta.sum() > 0.05 * magenta.size  # the tinted lesion
    clean, _ = _fruit(96, calyx=True)
    assert g.grade_image(clean, single=True)["items"][0]["lesion_pct"] < 2.0


def test_table_photo_fruit_with_rot() -> None:
    photo = render_table_photo(np.random.default_rng(3), table="white", n_fruit=4)
    img = photo.image_bgr.copy()
    marker = find_marker(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    before = scan(img, marker).fruit
    assert before
    assert all(f.lesion_pct < 2.0 for f in before)
    f0 = before[0]
    cx, cy = (int(v) for v in f0.center_px)
    cv2.circle(img, (cx, cy), int(f0.diameter_px * 0.3), BROWN, -1)
    after = scan(img, marker).fruit
    hit = min(after, key=lambda f: np.hypot(f.center_px[0] - cx, f.center_px[1] - cy))
    assert hit.lesion_pct > rules.STRAWBERRY_LESION_DEFECT_PCT
    assert hit.lesion_outlines
    g = load_grader("strawberry")
    res, drawn = g.grade_image_annotated(img)
    item = min(
        res["items"], key=lambda it: np.hypot(it["center_px"][0] - cx, it["center_px"][1] - cy)
    )
    assert item["label"] == "defect"
    assert item["lesion_pct"] > rules.STRAWBERRY_LESION_DEFECT_PCT
    outline = np.all(drawn == np.array(annotate.LESION_BGR, np.uint8), axis=-1)
    assert outline.any()
