"""What every wire document shares: identifiers, physical limits, products, grades, times.

Bodies that cross HTTP derive from :class:`Body`: frozen, and an unknown key is refused
(422), so an edge and a server that disagree on a field find out at once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Identifiers for stations, scales, rooms, lanes and devices: safe in a topic level.
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]

MAX_ROW_ID = 2**63 - 1  # SQLite and PostgreSQL integer keys: anything larger is not ours
MAX_GROSS_G = 2_000_000  # 2 t: the largest platform scale a station would use
MIN_TEMP_C, MAX_TEMP_C = -40.0, 85.0  # SHT20's rated range


class Product(StrEnum):
    STRAWBERRY = "strawberry"
    RUOYE = "ruoye"


class Grade(StrEnum):
    EXTRA = "extra"
    CLASS_I = "class_i"
    CLASS_II = "class_ii"
    REJECT = "reject"


GRADE_ZH: dict[Grade, str] = {
    Grade.EXTRA: "特级",
    Grade.CLASS_I: "一级",
    Grade.CLASS_II: "二级",
    Grade.REJECT: "等外",
}
PRODUCT_ZH: dict[Product, str] = {Product.STRAWBERRY: "草莓", Product.RUOYE: "箬叶"}


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


class Body(BaseModel):
    """Base of the HTTP JSON bodies (sync batch and ack, station directory)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def utc_ms(ts: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime: times on the wire are timezone-aware UTC")
    return int(ts.timestamp() * 1000)
