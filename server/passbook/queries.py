"""What a farmer's passbook shows: one lot, their lots of the season, their payouts.

Everything is read for ONE farmer, the one the opened token belongs to: a lot of anyone
else answers ``None`` exactly like an unknown one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.farmers.models import Farmer
from server.lots.models import Lot, LotPart
from server.payouts.cells import Figures
from server.payouts.models import FINAL_STATUSES, PaidLot, PayoutAdjustment, PayoutRun
from server.photos.models import LotPhoto
from server.photos.service import photo_path
from server.stations.models import Station

ONE_DAY = timedelta(days=1)
SEASON_START_MONTH = 9  # a season runs 1 September – 31 August: one strawberry season whole


@dataclass(frozen=True)
class Season:
    first: date
    last: date

    @property
    def label(self) -> str:
        return f"{self.first.year}–{self.last.year}"


def season_of(day: date) -> Season:
    """The season a date falls in (1 September to the next 31 August)."""
    year = day.year if day.month >= SEASON_START_MONTH else day.year - 1
    return Season(
        date(year, SEASON_START_MONTH, 1), date(year + 1, SEASON_START_MONTH, 1) - ONE_DAY
    )


@dataclass(frozen=True)
class Mark:
    """One fruit or leaf on the photo: where it is and how big to draw it (pixels)."""

    n: int
    x: float
    y: float
    r: float
    grade: str
    size: str  # "27.5 mm", "392 × 96 mm" or "" when the size is unknown
    white_pct: float | None


@dataclass(frozen=True)
class PhotoView:
    sha256: str
    path: Path
    width: int
    height: int
    marks: list[Mark]


@dataclass(frozen=True)
class LotView:
    lot: Lot
    farmer: Farmer
    station_name: str
    parts: list[LotPart]
    photo: PhotoView | None
    items: list[Mark]  # the per-item results (also when there is no photo)
    paid_run: int | None  # the payout run that paid it, if any


def farmer_of(*, session: Session, farmer_id: str) -> Farmer | None:
    return session.get(Farmer, farmer_id)


def _size(item: dict[str, Any]) -> str:
    d = _num(item.get("diameter_mm"))
    if d is not None:
        return f"{d:.1f} mm"
    length, width = _num(item.get("length_mm")), _num(item.get("width_mm"))
    if length is not None and width is not None:
        return f"{length:.0f} × {width:.0f} mm"
    return ""


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def marks_of(items: list[Any], width: int | None, height: int | None) -> list[Mark]:
    """Each item's centre and a radius in photo pixels.

    The radius is the measured size over the photo's scale (kept per item as ``mm_per_px``);
    without a scale (no marker) a ring of a twentieth of the photo marks where it is.
    """
    fallback = 0.05 * min(width or 400, height or 400)
    out: list[Mark] = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            continue
        centre = item.get("center_px")
        if not (isinstance(centre, list) and len(centre) == 2):
            continue
        x, y = _num(centre[0]), _num(centre[1])
        if x is None or y is None:
            continue
        scale = _num(item.get("mm_per_px"))
        size_mm = _num(item.get("diameter_mm")) or _num(item.get("width_mm"))
        r = size_mm / 2 / scale if scale and size_mm else fallback
        white = _num(item.get("white_fraction"))
        out.append(
            Mark(
                n=n,
                x=x,
                y=y,
                r=max(r, 6.0),
                grade=str(item.get("grade") or "reject"),
                size=_size(item),
                white_pct=None if white is None else round(white * 100, 1),
            )
        )
    return out


def lot_photo_file(*, session: Session, lot: Lot, root: Path) -> tuple[str, Path] | None:
    """The lot's first photo the server holds (linked by an upload and on disk)."""
    if not lot.image_hashes:
        return None
    linked = set(session.scalars(select(LotPhoto.sha256).where(LotPhoto.lot_id == lot.id)))
    for sha in lot.image_hashes:
        if sha in linked:
            path = photo_path(root=root, sha256=sha)
            if path.is_file():
                return sha, path
    return None


def _image_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:  # reads the header only
            return int(img.width), int(img.height)
    except (OSError, UnidentifiedImageError):
        return None


def farmer_lot(
    *, session: Session, farmer_id: str, lot_id: uuid.UUID, photos_root: Path
) -> LotView | None:
    """One lot of this farmer with its price parts, photo and items (None: not theirs)."""
    lot = session.get(Lot, lot_id)
    farmer = session.get(Farmer, farmer_id)
    if lot is None or farmer is None or lot.farmer_id != farmer_id:
        return None
    station = session.get(Station, lot.station_id)
    parts = list(
        session.scalars(select(LotPart).where(LotPart.lot_id == lot.id).order_by(LotPart.part_no))
    )
    photo: PhotoView | None = None
    found = lot_photo_file(session=session, lot=lot, root=photos_root)
    if found is not None:
        size = _image_size(found[1])
        if size is not None:
            photo = PhotoView(found[0], found[1], size[0], size[1], marks_of(lot.items, *size))
    items = photo.marks if photo else marks_of(lot.items, None, None)
    paid_run = session.scalar(select(PaidLot.run_id).where(PaidLot.lot_id == lot.id))
    return LotView(
        lot=lot,
        farmer=farmer,
        station_name=station.name if station else lot.station_id,
        parts=parts,
        photo=photo,
        items=items,
        paid_run=paid_run,
    )


@dataclass(frozen=True)
class LotRow:
    id: uuid.UUID
    captured_at: Any
    product: str
    grade: str
    net_g: int
    status: str
    amount_fen: int | None


@dataclass(frozen=True)
class SeasonLots:
    season: Season
    rows: list[LotRow]
    net_g: int
    priced_fen: int
    unpriced: int


def season_lots(*, session: Session, farmer_id: str, season: Season) -> SeasonLots:
    """The farmer's lots of the season, newest first, with their totals."""
    stmt = (
        select(
            Lot.id, Lot.captured_at, Lot.product, Lot.grade, Lot.net_g, Lot.status, Lot.amount_fen
        )
        .where(
            Lot.farmer_id == farmer_id,
            Lot.intake_date >= season.first,
            Lot.intake_date <= season.last,
        )
        .order_by(Lot.captured_at.desc(), Lot.id)
    )
    rows = [LotRow(*r) for r in session.execute(stmt)]
    return SeasonLots(
        season=season,
        rows=rows,
        net_g=sum(r.net_g for r in rows),
        priced_fen=sum(r.amount_fen or 0 for r in rows),
        unpriced=sum(1 for r in rows if r.status != "priced"),
    )


@dataclass(frozen=True)
class PayoutRow(Figures):
    run_id: int
    period_from: date
    period_to: date
    status: str


@dataclass(frozen=True)
class SeasonPayouts:
    season: Season
    rows: list[PayoutRow]
    waiting_lots: int  # priced, not yet in an approved payout
    waiting_fen: int
    unpriced_lots: int


def season_payouts(*, session: Session, farmer_id: str, season: Season) -> SeasonPayouts:
    """Approved (and exported, paid) payouts of the farmer whose period ends in the season,
    and what is priced but not paid yet. Drafts are not shown: they may still change."""
    paid = (
        select(
            PaidLot.run_id,
            func.count().label("lots"),
            func.coalesce(func.sum(PaidLot.net_g), 0).label("net_g"),
            func.coalesce(func.sum(PaidLot.amount_fen), 0).label("amount_fen"),
        )
        .where(PaidLot.farmer_id == farmer_id)
        .group_by(PaidLot.run_id)
        .subquery()
    )
    adj = (
        select(
            PayoutAdjustment.run_id,
            func.coalesce(func.sum(PayoutAdjustment.amount_fen), 0).label("fen"),
        )
        .where(PayoutAdjustment.farmer_id == farmer_id)
        .group_by(PayoutAdjustment.run_id)
        .subquery()
    )
    farmer = session.get(Farmer, farmer_id)
    coop = farmer.cooperative_id if farmer else ""
    stmt = (
        select(
            PayoutRun.id,
            PayoutRun.period_from,
            PayoutRun.period_to,
            PayoutRun.status,
            func.coalesce(paid.c.lots, 0),
            func.coalesce(paid.c.net_g, 0),
            func.coalesce(paid.c.amount_fen, 0),
            func.coalesce(adj.c.fen, 0),
        )
        .outerjoin(paid, paid.c.run_id == PayoutRun.id)
        .outerjoin(adj, adj.c.run_id == PayoutRun.id)
        .where(
            PayoutRun.cooperative_id == coop,
            PayoutRun.status.in_(FINAL_STATUSES),
            PayoutRun.period_to >= season.first,
            PayoutRun.period_to <= season.last,
            (paid.c.lots.is_not(None)) | (adj.c.fen.is_not(None)),
        )
        .order_by(PayoutRun.period_to.desc(), PayoutRun.id.desc())
    )
    rows = [
        PayoutRow(
            r[0], r[1], r[2], r[3],
            lots=int(r[4]), net_g=int(r[5]), amount_fen=int(r[6]), adjustments_fen=int(r[7]),
        )
        for r in session.execute(stmt)
    ]
    paid_ids = select(PaidLot.lot_id)
    waiting = session.execute(
        select(func.count(), func.coalesce(func.sum(Lot.amount_fen), 0)).where(
            Lot.farmer_id == farmer_id, Lot.status == "priced", Lot.id.not_in(paid_ids)
        )
    ).one()
    unpriced = session.scalar(
        select(func.count()).where(Lot.farmer_id == farmer_id, Lot.status != "priced")
    )
    return SeasonPayouts(
        season=season,
        rows=rows,
        waiting_lots=int(waiting[0]),
        waiting_fen=int(waiting[1] or 0),
        unpriced_lots=int(unpriced or 0),
    )
