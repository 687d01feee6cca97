"""``gongfang server import``: load a bundle of reference data and lots, all or nothing.

Bundle (JSON; money in fen, weights in grams, percentages as decimal strings)::

    {"cooperatives": [{"id", "name"}], "stations": [{"id", "cooperative", "name"}],
     "farmers": [{"id", "name", "cooperative", "low_income", "bank_account", "phone"}],
     "contracts": [{"id", "farmer", "product", "signed_on", "valid_from", "valid_to",
       "floor_fen_per_kg": {"extra", "class_i", "class_ii"}, "premium_pct": "20",
       "quota_g": 500000 | null, "reject_fen_per_kg": 0}],
     "market_prices": [{"cooperative", "product", "grade", "date", "fen_per_kg"}],
     "lots": [{"id", "station", "farmer", "product", "grade", "gross_g", "tare_g",
       "captured_at": "2026-03-01T02:15:00Z"}]}

Any subset of sections; records may refer to ones already in the database. Every record
is validated (shape, then references) before anything is written; one bad record and
nothing is imported (:class:`~server.core.errors.ImportFailed` lists them all). Records
with a known id are updated; a lot already stored with the same content is one lot.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

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
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.wire import MAX_GROSS_G, Grade, GradedBy, Ident, ItemResult, LotRecord, Product
from server.audit.service import record
from server.contracts.models import Contract
from server.core.db import dialect_insert
from server.core.errors import ImportFailed
from server.farmers.models import Farmer
from server.farmers.sealed import SEALED_FIELDS, FieldCipher, sealed_columns
from server.lots.models import Lot
from server.lots.service import ingest_lots
from server.pricing.models import MarketPrice
from server.stations.models import Cooperative, Station

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


class FloorIn(_In):
    extra: StrictInt | None = Field(default=None, ge=0, le=10_000_000)
    class_i: StrictInt | None = Field(default=None, ge=0, le=10_000_000)
    class_ii: StrictInt | None = Field(default=None, ge=0, le=10_000_000)


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


@dataclass
class ImportReport:
    cooperatives: StrictInt = 0
    stations: StrictInt = 0
    farmers: StrictInt = 0
    contracts: StrictInt = 0
    market_prices: StrictInt = 0
    lots_accepted: StrictInt = 0
    lots_duplicate: StrictInt = 0
    lots_unpriced: StrictInt = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


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


def _existing(session: Session, column: Any, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    found: set[str] = set()
    unique = sorted(ids)
    for start in range(0, len(unique), 900):
        found.update(session.scalars(select(column).where(column.in_(unique[start : start + 900]))))
    return found


def check_references(session: Session, p: Parsed) -> list[str]:
    """Every reference must name a record of the bundle or of the database."""
    errors: list[str] = []
    coops = {c.id for c in p.cooperatives}
    coops |= _existing(
        session,
        Cooperative.id,
        {s.cooperative for s in p.stations}
        | {f.cooperative for f in p.farmers}
        | {m.cooperative for m in p.market_prices},
    )
    stations = {s.id for s in p.stations} | _existing(
        session, Station.id, {lot.station for lot in p.lots}
    )
    farmer_ids = {f.id for f in p.farmers}
    farmer_ids |= _existing(
        session, Farmer.id, {c.farmer for c in p.contracts} | {lot.farmer for lot in p.lots}
    )

    def dupes(section: str, keys: list[Any]) -> None:
        seen: set[Any] = set()
        for i, key in enumerate(keys):
            if key in seen:
                errors.append(f"{section}[{i}]: 重复记录 / duplicate record {key}")
            seen.add(key)

    dupes("cooperatives", [c.id for c in p.cooperatives])
    dupes("stations", [s.id for s in p.stations])
    dupes("farmers", [f.id for f in p.farmers])
    dupes("contracts", [c.id for c in p.contracts])
    dupes(
        "market_prices",
        [(m.cooperative, m.product, m.grade, m.date) for m in p.market_prices],
    )
    for i, s in enumerate(p.stations):
        if s.cooperative not in coops:
            errors.append(
                f"stations[{i}] (id={s.id}): 合作社不存在 / unknown cooperative {s.cooperative!r}"
            )
    for i, f in enumerate(p.farmers):
        if f.cooperative not in coops:
            errors.append(
                f"farmers[{i}] (id={f.id}): 合作社不存在 / unknown cooperative {f.cooperative!r}"
            )
    for i, c in enumerate(p.contracts):
        if c.farmer not in farmer_ids:
            errors.append(f"contracts[{i}] (id={c.id}): 农户不存在 / unknown farmer {c.farmer!r}")
    for i, m in enumerate(p.market_prices):
        if m.cooperative not in coops:
            errors.append(
                f"market_prices[{i}]: 合作社不存在 / unknown cooperative {m.cooperative!r}"
            )
    stored: dict[uuid.UUID, str] = {}
    ids = sorted({lot.id for lot in p.lots})
    for start in range(0, len(ids), 900):
        stmt = select(Lot.id, Lot.content_hash).where(Lot.id.in_(ids[start : start + 900]))
        stored.update((r[0], r[1]) for r in session.execute(stmt))
    in_bundle: dict[uuid.UUID, str] = {}
    for i, lot in enumerate(p.lots):
        label = f"lots[{i}] (id={lot.id})"
        if lot.farmer not in farmer_ids:
            errors.append(f"{label}: 农户不存在 / unknown farmer {lot.farmer!r}")
        if lot.station not in stations:
            errors.append(f"{label}: 收购站不存在 / unknown station {lot.station!r}")
        h = lot.content_hash()
        prior = stored.get(lot.id) or in_bundle.get(lot.id)
        if prior is not None and prior != h:
            errors.append(
                f"{label}: 同一批次号内容不同 / same lot id with different content "
                "(the stored lot is never overwritten)"
            )
        in_bundle.setdefault(lot.id, h)
    return errors


def import_bundle(
    session: Session,
    doc: dict[str, Any],
    *,
    actor: str = "import",
    market_fallback_days: int = 3,
    cipher: FieldCipher | None = None,
) -> ImportReport:
    """Validate the whole bundle, then import it in the caller's transaction.

    Farmers' bank accounts and phone numbers are sealed with ``cipher`` (needed only when
    the bundle carries some).
    """
    parsed, errors = parse_bundle(doc)
    # References are checked among the records that parsed, so one pass lists everything.
    errors += check_references(session, parsed)
    if cipher is None:
        errors += [
            f"farmers[{i}] (id={f.id}): 没有字段密钥，不能导入银行账号或手机号 / no field key: "
            "bank accounts and phone numbers cannot be stored"
            for i, f in enumerate(parsed.farmers)
            if f.bank_account or f.phone
        ]
    if errors:
        raise ImportFailed(errors)

    report = ImportReport()
    for c in parsed.cooperatives:
        _upsert(session, Cooperative, c.id, name=c.name, allow_self_approval=c.allow_self_approval)
        report.cooperatives += 1
    session.flush()
    for s in parsed.stations:
        _upsert(session, Station, s.id, cooperative_id=s.cooperative, name=s.name)
        report.stations += 1
    for f in parsed.farmers:
        fields = f.model_dump(exclude_unset=True, exclude={"id", "cooperative"})
        contact = {k: fields.pop(k) for k in SEALED_FIELDS if k in fields}
        fields.update(sealed_columns(cipher, contact))
        _upsert(session, Farmer, f.id, cooperative_id=f.cooperative, **fields)
        report.farmers += 1
    session.flush()
    for k in parsed.contracts:
        _upsert(
            session,
            Contract,
            k.id,
            farmer_id=k.farmer,
            product=k.product.value,
            signed_on=k.signed_on,
            valid_from=k.valid_from,
            valid_to=k.valid_to,
            floor_extra_fen_per_kg=k.floor_fen_per_kg.extra,
            floor_class_i_fen_per_kg=k.floor_fen_per_kg.class_i,
            floor_class_ii_fen_per_kg=k.floor_fen_per_kg.class_ii,
            premium_pct=k.premium_pct,
            quota_g=k.quota_g,
            reject_fen_per_kg=k.reject_fen_per_kg,
        )
        report.contracts += 1
    session.flush()
    if parsed.market_prices:
        upsert_market_prices(session, parsed.market_prices)
        report.market_prices = len(parsed.market_prices)
    if parsed.lots:
        result = ingest_lots(session, lots=parsed.lots, market_fallback_days=market_fallback_days)
        report.lots_accepted = result.count(ItemResult.ACCEPTED)
        report.lots_duplicate = result.count(ItemResult.DUPLICATE)
        bad = [
            a for a in result.acks if a.result not in (ItemResult.ACCEPTED, ItemResult.DUPLICATE)
        ]
        if bad:  # cannot happen after check_references, unless a concurrent writer raced us
            raise ImportFailed([f"lot {a.id}: {a.message}" for a in bad])
        accepted = [
            lot.id
            for lot, a in zip(parsed.lots, result.acks, strict=True)
            if a.result is ItemResult.ACCEPTED
        ]
        if accepted:
            report.lots_unpriced = len(_existing_unpriced(session, accepted))
    record(
        session,
        actor=actor,
        action="bundle_imported",
        entity="import",
        entity_id="-",
        **report.as_dict(),
    )
    session.flush()
    return report


def _existing_unpriced(session: Session, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    for start in range(0, len(ids), 900):
        stmt = select(Lot.id).where(Lot.id.in_(ids[start : start + 900]), Lot.status == "unpriced")
        out.extend(session.scalars(stmt))
    return out


def _upsert(session: Session, model: type[Any], key: str, **values: Any) -> None:
    row = session.get(model, key)
    if row is None:
        session.add(model(id=key, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


def upsert_market_prices(session: Session, prices: list[MarketPriceIn]) -> None:
    ins = dialect_insert(session)
    stmt = ins(MarketPrice.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["cooperative_id", "product", "grade", "day"],
        set_={"fen_per_kg": stmt.excluded.fen_per_kg},
    )
    session.execute(
        stmt,
        [
            {
                "cooperative_id": m.cooperative,
                "product": m.product.value,
                "grade": m.grade.value,
                "day": m.date,
                "fen_per_kg": m.fen_per_kg,
            }
            for m in prices
        ],
    )
