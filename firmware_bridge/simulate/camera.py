"""The lane camera: a rendered photo of each crate, or a plain placeholder marked as such.

A farmer's crates look alike from visit to visit (their usual quality is drawn from the
seed); the renderers live in ``models/render`` and are optional at run time.
"""

from __future__ import annotations

import importlib
import io
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gongfang.wire import Product

log = logging.getLogger(__name__)

_FruitLabel = Literal["unripe", "turning", "ripe", "defect"]


@dataclass(frozen=True, slots=True)
class _Quality:
    """What a farmer's crates look like on camera (None: the renderer's full mix)."""

    fruit: list[_FruitLabel] | None
    diameter_mm: tuple[float, float]
    leaves: list[str] | None


_FAIR_CRATE: list[_FruitLabel] = ["ripe", "ripe", "ripe", "ripe", "ripe", "ripe", "ripe", "turning"]
_QUALITY = {
    "good": _Quality(["ripe"], (27.0, 38.0), ["clean"]),
    "fair": _Quality(_FAIR_CRATE, (21.0, 36.0), ["clean", "clean", "spot"]),
    "poor": _Quality(None, (16.0, 40.0), None),
}


class CrateCamera:
    """Photos of one simulated day's crates. ``mode`` says what it has sent: ``None``
    before the first photo, then ``"rendered"`` or ``"placeholder"`` (once it falls back,
    it stays there)."""

    def __init__(
        self,
        *,
        seed: int,
        product: Product,
        size: tuple[int, int],
        camera: Literal["render", "placeholder"],
        qualities: Mapping[str, str] | None = None,
    ) -> None:
        unknown = {q for q in (qualities or {}).values() if q not in _QUALITY}
        if unknown:
            raise ValueError(
                f"未知品质 / unknown crate quality {sorted(unknown)}; choose from {list(_QUALITY)}"
            )
        self.qualities = dict(qualities or {})
        self.seed = seed
        self.product = product
        self.size = size  # strawberry photos; 箬叶 keep the renderer's larger default
        self.camera = camera
        self.mode: str | None = None

    def _quality(self, farmer: str) -> str:
        """The farmer's usual crate quality: as scripted, else drawn from the seed (most
        bring good produce, a few do not)."""
        if farmer in self.qualities:
            return self.qualities[farmer]
        return random.Random(f"{self.seed}:quality:{farmer}").choices(
            list(_QUALITY), weights=[0.5, 0.35, 0.15]
        )[0]

    def photo(self, visit_index: int, crate_index: int, n_items: int, farmer: str) -> bytes:
        """The JPEG of one crate, the same on every run with the same seed."""
        import numpy as np

        rng = np.random.default_rng([self.seed, visit_index, crate_index])
        quality = _QUALITY[self._quality(farmer)]
        try:
            if self.camera == "placeholder":
                raise RuntimeError("placeholder camera requested")
            # Imported by name: the renderers live in models/ and are optional at run time.
            if self.product is Product.STRAWBERRY:
                render = importlib.import_module("models.render.strawberry").render_table_photo
                photo = render(
                    rng,
                    n_fruit=n_items,
                    size=self.size,
                    labels=quality.fruit,
                    diameter_mm=quality.diameter_mm,
                )
            else:
                render = importlib.import_module("models.render.ruoye").render_leaf_photo
                photo = render(rng, n_leaves=n_items, kinds=quality.leaves)
            self.mode = self.mode or "rendered"
            return bytes(photo.jpeg(85))
        except Exception as exc:  # renderer missing or failing: the day goes on without it
            if self.mode != "placeholder" and self.camera == "render":
                log.warning(
                    "渲染模块不可用，相机发送占位图 / models.render unavailable (%s): "
                    "camera frames are PLACEHOLDER images",
                    exc,
                )
            self.mode = "placeholder"
            return placeholder_jpeg(rng, self.size, f"PLACEHOLDER {visit_index}/{crate_index}")


def placeholder_jpeg(rng: Any, size: tuple[int, int], text: str) -> bytes:
    """A plain generated JPEG, visibly marked PLACEHOLDER (no renderer available)."""
    from PIL import Image, ImageDraw

    w, h = size
    shade = int(rng.integers(200, 240))
    img = Image.new("RGB", (w, h), (shade, shade, shade))
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 20, w - 20, h - 20), outline=(200, 0, 0), width=8)
    draw.text((40, 40), text, fill=(200, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return buf.getvalue()
