"""Training-time augmentation that breaks the background shortcut (numpy + OpenCV).

The field set (Riseholme) has every defect but no turning fruit; the table set (brix) has
turning fruit but no defect. Without care a model learns "green/dark background → defect,
white background → turning". So each draw may swap the background: a table fruit is cut
out by colour and pasted on a field-like texture, a field crop is shrunk onto a light
table texture behind a soft oval mask. Colour jitter keeps hue shifts tiny because hue is
the ripeness cue.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK = 80  # decoded canvas; the random affine maps it to the model size


def table_mask(img: np.ndarray) -> np.ndarray:
    """Soft fruit mask (float32 0..1) of a photo on a light table (Lab distance to border)."""
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    bg = np.median(border, axis=0)
    d = np.linalg.norm((lab - bg) * np.array([0.5, 1.0, 1.0], np.float32), axis=2)
    m = (d > 14).astype(np.uint8)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, cc, stats, _ = cv2.connectedComponentsWithStats(m)
    if n > 1:
        keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        m = (cc == keep).astype(np.uint8)
    # fill holes (white seeds and highlights inside the fruit)
    flood = m.copy()
    ff = np.zeros((m.shape[0] + 2, m.shape[1] + 2), np.uint8)
    cv2.floodFill(flood, ff, (0, 0), 1)
    m = m | (1 - flood)
    out: np.ndarray = cv2.GaussianBlur(m.astype(np.float32), (5, 5), 1.2)
    return out


def table_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A light table: white plastic, light wood or steel, with a light gradient and grain."""
    kind = rng.integers(3)
    base = {
        0: rng.uniform(215, 250, 3),
        1: np.array([rng.uniform(200, 235), rng.uniform(175, 205), rng.uniform(135, 170)]),
        2: np.full(3, rng.uniform(165, 215)) + rng.uniform(-5, 5, 3),
    }[int(kind)]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    ang = rng.uniform(0, 2 * np.pi)
    grad = 1.0 + rng.uniform(-0.15, 0.15) * ((xx - 0.5) * np.cos(ang) + (yy - 0.5) * np.sin(ang))
    img = base[None, None, :] * grad[..., None]
    noise: np.ndarray = rng.normal(0, rng.uniform(1, 6), (size, size, 1)).astype(np.float32)
    if kind == 1:  # wood grain: stretched noise
        noise = np.asarray(cv2.resize(noise[::8, :, 0], (size, size)))[..., None] * 2
    out: np.ndarray = np.clip(img + noise, 0, 255).astype(np.float32)
    return out


def field_texture(rng: np.random.Generator, donor: np.ndarray, size: int) -> np.ndarray:
    """A field background: a blurred, flipped, re-scaled crop of another field photo."""
    k = int(rng.integers(size // 3, size))
    y, x = rng.integers(0, donor.shape[0] - k + 1), rng.integers(0, donor.shape[1] - k + 1)
    patch = cv2.resize(donor[y : y + k, x : x + k], (size, size), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    sigma = rng.uniform(1.0, 4.0)
    return cv2.GaussianBlur(patch.astype(np.float32), (0, 0), sigma)


def paste_on_field(
    img: np.ndarray, mask: np.ndarray, bg: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Cut the table fruit out, enlarge it (field crops are tight) and lay it on ``bg``."""
    s = rng.uniform(1.05, 1.35)
    c = WORK / 2
    m = np.array([[s, 0, c - s * c], [0, s, c - s * c]], np.float32)
    fg = cv2.warpAffine(img.astype(np.float32), m, (WORK, WORK), borderMode=cv2.BORDER_REPLICATE)
    mk = cv2.warpAffine(mask, m, (WORK, WORK))[..., None]
    return fg * mk + bg * (1 - mk)


def paste_on_table(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shrink a field crop onto a table texture, hiding its corners behind a soft oval."""
    bg = table_texture(rng, WORK)
    s = rng.uniform(0.7, 0.95)
    k = int(WORK * s)
    small = cv2.resize(img, (k, k), interpolation=cv2.INTER_AREA).astype(np.float32)
    yy, xx = np.mgrid[0:k, 0:k].astype(np.float32)
    r = (k - 1) / 2
    ax, ay = rng.uniform(0.85, 1.05, 2) * r
    d = ((xx - r) / ax) ** 2 + ((yy - r) / ay) ** 2
    oval = np.clip((1.15 - d) / 0.3, 0, 1)[..., None]
    oy, ox = rng.integers(0, WORK - k + 1, 2)
    out = bg.copy()
    region = out[oy : oy + k, ox : ox + k]
    out[oy : oy + k, ox : ox + k] = small * oval + region * (1 - oval)
    return out


def geometric(
    img: np.ndarray,
    size: int,
    rng: np.random.Generator,
    max_angle: float,
    scale: tuple[float, float],
    border: int,
) -> np.ndarray:
    """Random rotation, scale, shift and flip from the WORK canvas to ``size``."""
    ang = rng.uniform(-max_angle, max_angle)
    s = size / WORK * rng.uniform(*scale)
    m = cv2.getRotationMatrix2D((WORK / 2, WORK / 2), ang, s)
    m[:, 2] = m[:, 2] + (size - WORK) / 2 + rng.uniform(-0.05, 0.05, 2) * size
    out = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return out


# (brightness gain, offset, contrast, saturation, white balance) ranges of the colour jitter;
# the strong one stands in for other cameras and light (greenhouse, hand-held, station lamps)
JITTER = ((0.75, 1.25), 15.0, (0.8, 1.2), (0.8, 1.2), 0.06)
STRONG_JITTER = ((0.6, 1.4), 25.0, (0.7, 1.3), (0.65, 1.35), 0.12)


def photometric(img: np.ndarray, rng: np.random.Generator, strong: bool = False) -> np.ndarray:
    """Brightness, contrast, saturation, a tiny hue shift, blur, noise and JPEG loss.

    ``strong`` widens every colour range but the hue's (hue stays the ripeness cue).
    """
    gain, offset, contrast, sat, wb = STRONG_JITTER if strong else JITTER
    x: np.ndarray = img.astype(np.float32)
    x = x * rng.uniform(*gain) + rng.uniform(-offset, offset)
    mean = x.mean()
    x = (x - mean) * rng.uniform(*contrast) + mean
    x = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.8:
        hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-3, 3)) % 180  # ±6°: keeps the red/white cue
        hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(*sat), 0, 255)
        x = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    x = x * (1 + rng.uniform(-wb, wb, 3)).astype(np.float32)  # white balance
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.2))
    if rng.random() < 0.3:
        x = x + rng.normal(0, rng.uniform(2, 8), x.shape).astype(np.float32)
    x = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        q = int(rng.integers(35, 90))
        ok, enc = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, q])
        dec = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED) if ok else None
        if dec is not None:
            x = np.asarray(dec)
    return x


def augment(
    img: np.ndarray,
    mask: np.ndarray | None,
    donor: np.ndarray,
    size: int,
    rng: np.random.Generator,
    p_swap: float = 0.5,
    p_strong: float = 0.0,
) -> np.ndarray:
    """One training view of ``img`` (WORK × WORK uint8 RGB). ``mask`` set = table photo.

    A fruit on a table (or pasted on one) turns freely; a field crop in its own scene turns
    by quarter turns plus a little and is never shrunk, because mirrored or replicated
    borders around a tight crop make kaleidoscope fruit that look like the malformed
    (defect) class.
    """
    if rng.random() < p_swap:
        if mask is not None:
            canvas = paste_on_field(img, mask, field_texture(rng, donor, WORK), rng)
        else:
            canvas = paste_on_table(img, rng)
        geo: tuple[float, tuple[float, float], int] = (180, (0.9, 1.1), cv2.BORDER_REFLECT)
    elif mask is not None:
        canvas = img.astype(np.float32)
        geo = (180, (0.85, 1.15), cv2.BORDER_REPLICATE)
    else:
        # A near-square field crop turns by quarter turns without any new border (no
        # kaleidoscope), plus a small free angle.
        canvas = np.rot90(img, int(rng.integers(4))).astype(np.float32)
        geo = (15, (1.0, 1.15), cv2.BORDER_REFLECT_101)
    out = geometric(np.clip(canvas, 0, 255).astype(np.uint8), size, rng, *geo)
    # no draw when off: a recipe without it consumes the generator as before (same bytes)
    strong = p_strong > 0 and rng.random() < p_strong
    return photometric(np.ascontiguousarray(out), rng, strong)
