"""Server → edge hints: ``GET /api/v1/station/directory`` and the shapes in it."""

from __future__ import annotations

from pydantic import Field, StrictInt

from .common import Body, Grade, Ident, Product


class ContractHint(Body):
    """What a station needs to estimate a receipt's price under a farmer's contract."""

    product: Product
    valid_from: str  # YYYY-MM-DD
    valid_to: str
    floor_fen_per_kg: dict[Grade, StrictInt] = Field(default_factory=dict)
    premium_pct: str | None = None  # decimal string, e.g. "20"
    reject_fen_per_kg: StrictInt = 0


class FarmerHint(Body):
    id: str
    name: str
    card_code: str | None = None  # what the farmer card's QR/barcode carries, if not the id
    contracts: list[ContractHint] = Field(default_factory=list)


class MarketHint(Body):
    product: Product
    grade: Grade
    date: str  # YYYY-MM-DD
    fen_per_kg: StrictInt = Field(ge=0)


class OperatorHint(Body):
    """A cooperative operator who may sign in on its stations' consoles, with the Argon2
    hash of their console PIN (:mod:`gongfang.pins`); never the PIN itself."""

    name: str = Field(min_length=1, max_length=100)
    pin_hash: str = Field(pattern=r"^\$argon2", max_length=200)


class StationDirectory(Body):
    """``GET /api/v1/station/directory`` (station API key): farmers of the station's
    cooperative with their contracts, recent market prices, and the operators who have a
    console PIN. Estimates only: the server prices every lot itself when it arrives."""

    station: Ident
    cooperative: str
    farmers: list[FarmerHint] = Field(default_factory=list)
    market: list[MarketHint] = Field(default_factory=list)
    operators: list[OperatorHint] = Field(default_factory=list)
