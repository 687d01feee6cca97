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

Each record's shape is checked in :mod:`server.importer.shapes`, its references in
:mod:`server.importer.references`; this module writes them, in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import StrictInt
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.wire import ItemResult
from server.audit.service import record
from server.contracts.models import Contract
from server.core.db import dialect_insert
from server.core.errors import ImportFailed
from server.farmers.models import Farmer
from server.farmers.sealed import SEALED_FIELDS, FieldCipher, sealed_columns
from server.importer.references import check_references
from server.importer.shapes import MarketPriceIn, parse_bundle
from server.lots.models import Lot
from server.lots.service import ingest_lots
from server.pricing.models import MarketPrice
from server.stations.models import Cooperative, Station


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


def import_bundle(
    *, session: Session,
    doc: dict[str, Any], actor: str = "import",
    market_fallback_days: int = 3,
    cipher: FieldCipher | None = None,
) -> ImportReport:
    """Validate the whole bundle, then import it in the caller's transaction.

    Farmers' bank accounts and phone numbers are sealed with ``cipher`` (needed only when
    the bundle carries some).
    """
    parsed, errors = parse_bundle(doc)
    # References are checked among the records that parsed, so one pass lists everything.
    errors += check_references(session=session, p=parsed)
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
        fields.update(sealed_columns(cipher=cipher, values=contact))
        _upsert(session, Farmer, f.id, cooperative_id=f.cooperative, **fields)
        report.farmers += 1
    session.flush()
    for k in parsed.contracts:
        _upsert(session, Contract, k.id, **k.columns())
        report.contracts += 1
    session.flush()
    if parsed.market_prices:
        upsert_market_prices(session=session, prices=parsed.market_prices)
        report.market_prices = len(parsed.market_prices)
    if parsed.lots:
        result = ingest_lots(
            session=session, lots=parsed.lots, market_fallback_days=market_fallback_days
        )
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
        session=session,
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


def upsert_market_prices(*, session: Session, prices: list[MarketPriceIn]) -> None:
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
