"""A cooperative to review: farmers, a contract, lots (one with a photo, its fruit and a
cold-room stay; one the rule cannot price) and users of each role, for the page tests."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from gongfang.wire import LotRecord, LotStay
from server.auth.models import User
from server.coldchain.service import store_stays
from server.importer import import_bundle
from server.lots.service import ingest_lots
from server.photos.service import store_photo
from tests.server.conftest import base_bundle, contract, env_cipher, lot_id, wire_lot

COOP = "coop-a"
STATION = "st-a"
F1 = f"{COOP}-F1"  # 王, low-income, under contract C1
F9 = f"{COOP}-F9"  # 陈, no contract: its lots stay unpriced
PHOTO_LOT = lot_id(1)
UNPRICED_LOT = lot_id(3)


@dataclass(frozen=True)
class Seeded:
    photo_sha: str
    photo_bytes: bytes


def photo_jpeg() -> bytes:
    """A small JPEG of red 'strawberries' on a tray (any real JPEG would do)."""
    img = Image.new("RGB", (480, 320), (235, 235, 225))
    draw = ImageDraw.Draw(img)
    for i, (x, y) in enumerate([(90, 110), (220, 150), (350, 100), (160, 240), (310, 240)]):
        draw.ellipse((x - 45, y - 50, x + 45, y + 50), fill=(200 - i * 10, 30, 40))
        draw.ellipse((x - 12, y - 58, x + 12, y - 44), fill=(40, 140, 50))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


ITEMS = [
    {"label": "ripe", "grade": "extra", "diameter_mm": 34.5, "white_fraction": 0.02},
    {"label": "ripe", "grade": "class_i", "diameter_mm": 29.0, "white_fraction": 0.08},
    {"label": "turning", "grade": "class_ii", "diameter_mm": 27.1, "white_fraction": 0.31},
]


def seed_cooperative(session: Session, *, photos_dir: Path, password_hash: str) -> Seeded:
    """Reference data, four lots in March 2026, the photo and stay of lot 1, users."""
    doc = base_bundle(COOP, STATION)
    doc["farmers"][0].update(
        household="王建国户", village="三都村", bank_account="6222021234567890",
        phone="13812345678",
    )
    doc["farmers"][1].update(household="陈家", village="三都村")
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1000, "class_i": 800}, premium="0")]
    # Another cooperative whose reviewer must see none of this one.
    doc["cooperatives"].append({"id": "coop-b", "name": "别的合作社"})
    import_bundle(session=session, doc=doc, cipher=env_cipher())
    data = photo_jpeg()
    sha = hashlib.sha256(data).hexdigest()
    first = wire_lot(1, F1, net_g=5250, captured_at="2026-03-02T02:00:00Z")
    first.update(items=ITEMS, image_hashes=[sha], cold_room="room1", operator="op1")
    records = [
        first,
        wire_lot(2, F1, net_g=2000, captured_at="2026-03-10T02:00:00Z", grade="class_i"),
        wire_lot(3, F9, net_g=3000, captured_at="2026-03-11T02:00:00Z"),
        wire_lot(4, F1, net_g=1500, captured_at="2026-03-12T03:30:00Z"),
    ]
    ingest_lots(session=session, lots=[LotRecord.model_validate(r) for r in records])
    store_photo(
        session=session,
        station_id=STATION,
        lot_id=uuid.UUID(PHOTO_LOT),
        sha256=sha,
        data=data,
        root=photos_dir,
        max_bytes=8 * 1024 * 1024,
    )
    store_stays(
        session=session,
        station_id=STATION,
        stays=[
            LotStay.model_validate(
                {
                    "lot_id": first["id"],
                    "station": STATION,
                    "room": "room1",
                    "entered_at": "2026-03-02T02:20:00Z",
                    "left_at": "2026-03-03T06:00:00Z",
                    "excursions": 1,
                    "minutes_above_max_c": 12,
                    "minutes_below_min_c": 0,
                    "temp_peak_c": 3.4,
                    "mkt_c": 1.2,
                    "data_coverage_pct": 99.5,
                    "remaining_shelf_life_h": 130.0,
                }
            )
        ],
    )
    for name, role, coop in (
        ("reviewer1", "reviewer", COOP),
        ("reviewer2", "reviewer", COOP),  # four-eyes: approves what reviewer1 made
        ("clerk1", "operator", COOP),
        ("admin1", "admin", None),
        ("reviewer-b", "reviewer", "coop-b"),
    ):
        session.add(User(name=name, role=role, cooperative_id=coop, password_hash=password_hash))
    session.flush()
    return Seeded(photo_sha=sha, photo_bytes=data)
