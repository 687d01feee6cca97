"""Request bodies of the orders API: strict (no ``true`` as 1, no ``"5400"`` as 5400, no
floats for grams or fen), unknown fields refused."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from gongfang.wire import Grade, Product

MAX_ORDER_G = 10**12  # a million tonnes: beyond any order, inside BIGINT
MAX_FEN_PER_KG = 10**7


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    buyer: str = Field(min_length=1, max_length=64)
    product: Product
    min_grade: Grade
    quantity_g: StrictInt = Field(gt=0, le=MAX_ORDER_G)
    delivery_date: date
    price_fen_per_kg: StrictInt = Field(ge=0, le=MAX_FEN_PER_KG)
    allow_overfill: StrictBool = False
    # the buyer's minimum remaining shelf life at picking; None: above zero is enough
    min_shelf_life_h: StrictFloat | None = Field(default=None, ge=0, le=100_000)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class ShipmentLotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lot_id: uuid.UUID
    net_g: StrictInt = Field(gt=0, le=MAX_ORDER_G)


class ShipmentIn(BaseModel):
    """A shipment as the station records it; ``id`` made there (a resend is the same)."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID
    order_id: uuid.UUID
    lots: list[ShipmentLotIn] = Field(min_length=1, max_length=10_000)


class LotSplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allow_lot_split: StrictBool
