"""The records of an import bundle: the shape each must have, checked all at once.

Strict types (``StrictInt``, ``StrictBool``): ``"5400"`` or ``true`` is never a weight, and
a percentage is an exact decimal string. The contract and market-price forms of the web
pages check their input with the same records.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from gongfang.wire import MAX_GROSS_G, Grade, GradedBy, Ident, LotRecord, Product

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CooperativeIn(_In):
    id: Ident
    name: Name
    allow_self_approval: StrictBool = False  # one-person office: may approve its own runs


class StationIn(_In):
    id: Ident
    cooperative: Ref
    name: Name


class FarmerIn(_In):
    id: Ref
    name: Name
    cooperative: Ref
    low_income: StrictBool = False
    household: str | None = Field(default=None, max_length=200)
    village: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    bank_account: str | None = Field(default=None, pattern=r"^[0-9 ]{8,40}$")
    card_code: str | None = Field(default=None, max_length=128)


class Floors(Protocol):
    """What carries a contract's floor prices: a stored contract, or its new terms."""

    @property
    def floor_extra_fen_per_kg(self) -> int | None: ...
    @property
    def floor_class_i_fen_per_kg(self) -> int | None: ...
    @property
    def floor_class_ii_fen_per_kg(self) -> int | None: ...


class FloorIn(_In):
    extra: StrictInt | None = Field(default=None, ge=0, le=10_000_000)
    class_i: StrictInt | None = Field(default=None, ge=0, le=10_000_000)
    class_ii: StrictInt | None = Field(default=None, ge=0, le=10_000_000)

    @classmethod
    def of(cls, floors: Floors) -> FloorIn:
        return cls(
            extra=floors.floor_extra_fen_per_kg,
            class_i=floors.floor_class_i_fen_per_kg,
            class_ii=floors.floor_class_ii_fen_per_kg,
        )

    def columns(self) -> dict[str, int | None]:
        """The floors as the contract table's columns."""
        return {
            "floor_extra_fen_per_kg": self.extra,
            "floor_class_i_fen_per_kg": self.class_i,
            "floor_class_ii_fen_per_kg": self.class_ii,
        }


def parse_premium(value: object) -> str | None:
    """A percentage as an exact decimal string ("20", "22.5"); numbers are refused as floats."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('premium_pct must be a decimal string such as "20"')
    try:
        dec = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"premium_pct {value!r} is not a decimal number") from None
    if not dec.is_finite() or dec < 0 or dec > 1000 or dec != dec.quantize(Decimal("0.0001")):
        raise ValueError("premium_pct must be between 0 and 1000 with at most 4 decimals")
    return str(dec)


class ContractIn(_In):
    id: Ref
    farmer: Ref
    product: Product
    signed_on: date
    valid_from: date
    valid_to: date
    floor_fen_per_kg: FloorIn = Field(default_factory=FloorIn)
    premium_pct: str | None = None
    quota_g: StrictInt | None = Field(default=None, ge=0, le=10**12)
    reject_fen_per_kg: StrictInt = Field(default=0, ge=0, le=10_000_000)

    _premium = field_validator("premium_pct", mode="before")(parse_premium)

    def columns(self) -> dict[str, Any]:
        """The contract as the contract table's columns (its id aside)."""
        return {
            "farmer_id": self.farmer,
            "product": self.product.value,
            "signed_on": self.signed_on,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            **self.floor_fen_per_kg.columns(),
            "premium_pct": self.premium_pct,
            "quota_g": self.quota_g,
            "reject_fen_per_kg": self.reject_fen_per_kg,
        }

    @model_validator(mode="after")
    def _dates(self) -> ContractIn:
        if self.valid_from > self.valid_to:
            raise ValueError("valid_from must not be after valid_to / 生效日期晚于截止日期")
        return self


class MarketPriceIn(_In):
    cooperative: Ref
    product: Product
    grade: Grade
    date: date
    fen_per_kg: StrictInt = Field(ge=0, le=10_000_000)


class LotIn(_In):
    id: uuid.UUID
    station: Ident
    farmer: Ref
    product: Product
    grade: Grade
    gross_g: StrictInt = Field(ge=0, le=MAX_GROSS_G)
    tare_g: StrictInt = Field(ge=0, le=MAX_GROSS_G)
    net_g: StrictInt | None = None
    captured_at: AwareDatetime
    cold_room: Ident | None = None
    operator: str | None = Field(default=None, max_length=100)
    graded_by: GradedBy | None = None

    def to_record(self) -> LotRecord:
        """The lot as the edge would send it (net = gross − tare, checked there)."""
        return LotRecord(
            id=self.id,
            station=self.station,
            farmer=self.farmer,
            product=self.product,
            grade=self.grade,
            gross_g=self.gross_g,
            tare_g=self.tare_g,
            net_g=self.net_g if self.net_g is not None else self.gross_g - self.tare_g,
            graded_by=self.graded_by
            or GradedBy(kind="operator", operator="import", reason="bundle import"),
            captured_at=self.captured_at,
            cold_room=self.cold_room,
            operator=self.operator,
        )


@dataclass
class Parsed:
    cooperatives: list[CooperativeIn] = field(default_factory=list)
    stations: list[StationIn] = field(default_factory=list)
    farmers: list[FarmerIn] = field(default_factory=list)
    contracts: list[ContractIn] = field(default_factory=list)
    market_prices: list[MarketPriceIn] = field(default_factory=list)
    lots: list[LotRecord] = field(default_factory=list)


SECTIONS = ("cooperatives", "stations", "farmers", "contracts", "market_prices", "lots")
M = TypeVar("M", bound=BaseModel)


def _brief(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return "; ".join(parts)


def _label(section: str, index: int, raw: object) -> str:
    rid = raw.get("id") if isinstance(raw, dict) else None
    return f"{section}[{index}]" + (f" (id={rid})" if rid is not None else "")


def parse_bundle(doc: object) -> tuple[Parsed, list[str]]:
    """Shape-check every record; return what parsed and the errors (with their record)."""
    errors: list[str] = []
    out = Parsed()
    if not isinstance(doc, dict):
        return out, ["包必须是 JSON 对象 / the bundle must be a JSON object"]
    unknown = sorted(set(doc) - set(SECTIONS))
    if unknown:
        errors.append(f"未知的部分 / unknown sections: {', '.join(map(str, unknown))}")

    def section(name: str, model: type[M], post: Callable[[M], Any] | None = None) -> list[Any]:
        raw = doc.get(name, [])
        if not isinstance(raw, list):
            errors.append(f"{name}: 必须是列表 / must be a list")
            return []
        items: list[Any] = []
        for i, rec in enumerate(raw):
            try:
                item = model.model_validate(rec)
                items.append(post(item) if post else item)
            except (ValidationError, ValueError) as exc:
                msg = _brief(exc) if isinstance(exc, ValidationError) else str(exc)
                errors.append(f"{_label(name, i, rec)}: {msg}")
        return items

    out.cooperatives = section("cooperatives", CooperativeIn)
    out.stations = section("stations", StationIn)
    out.farmers = section("farmers", FarmerIn)
    out.contracts = section("contracts", ContractIn)
    out.market_prices = section("market_prices", MarketPriceIn)
    out.lots = section("lots", LotIn, lambda lot: lot.to_record())
    return out, errors
