"""Lot ingestion (edge sync and bundle import): idempotent by lot id, priced on arrival.

Within one call the lots are handled in order of ``captured_at`` then id, which is the
order of arrival the pricing rule consumes quota in. The caller owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from gongfang.money import amount_fen, fen_to_yuan_str
from gongfang.wire import Grade, ItemAck, ItemResult, LotRecord
from server.aggregates.service import AggregateDelta, apply_deltas
from server.audit.service import record
from server.core.db import bulk_insert, in_values, utcnow
from server.core.errors import Invalid, InvalidState, NotFound
from server.core.metrics import LOTS_REFUSED
from server.lots.models import Lot, LotPart
from server.passbook.service import register_tokens
from server.pricing.rule import PriceResult, price_lot
from server.pricing.service import (
    ContractBook,
    MarketBook,
    consume_quota,
    intake_date,
    load_farmers_and_contracts,
)
from server.stations.models import Station

_LOTS = cast(Table, Lot.__table__)
_PARTS = cast(Table, LotPart.__table__)
_STATIONS = cast(Table, Station.__table__)


@dataclass
class IngestResult:
    acks: list[ItemAck] = field(default_factory=list)

    def count(self, result: ItemResult) -> int:
        return sum(1 for a in self.acks if a.result is result)


def ingest_lots(
    *, session: Session, lots: Sequence[LotRecord],
    market_fallback_days: int = 3,
    station_cooperatives: Mapping[str, str] | None = None,
) -> IngestResult:
    """Store and price new lots; acknowledge each one (in the order given).

    ``station_cooperatives``: station → cooperative for stations the caller already knows
    (the sync endpoint knows its key's), which saves a query; others are looked up.
    """
    if not lots:
        return IngestResult()
    acks: dict[int, ItemAck] = {}
    hashes = [lot.content_hash() for lot in lots]
    keys = [str(lot.id) for lot in lots]
    order = sorted(range(len(lots)), key=lambda i: (lots[i].captured_at, keys[i]))

    stored = _stored_hashes(session, [lot.id for lot in lots])
    farmers, book = load_farmers_and_contracts(
        session=session, farmer_ids={lot.farmer for lot in lots}
    )
    # Each station's cooperative: a lot is of its farmer's cooperative (DESIGN), and a
    # station may only submit lots of its own cooperative's farmers (their contracts are
    # the farmers'), so a key of one cooperative can never price into another's payouts.
    wanted = {lot.station for lot in lots}
    station_coop = dict(station_cooperatives or {})
    if not wanted <= set(station_coop):
        station_coop = _station_cooperatives(session, wanted)

    fresh: list[int] = []
    refused: list[str] = []
    seen: dict[uuid.UUID, str] = {}
    for i in order:
        lot, h = lots[i], hashes[i]
        key = keys[i]
        prior = stored.get(lot.id) or seen.get(lot.id)
        if prior is not None:
            if prior == h:
                acks[i] = _ack(key, ItemResult.DUPLICATE)
            else:
                acks[i] = _ack(
                    key,
                    ItemResult.CONFLICT,
                    "同一批次号内容不同，已保留原记录 / same lot id with different "
                    "content: the stored lot is kept",
                )
            continue
        if lot.farmer not in farmers:
            acks[i] = _ack(key, ItemResult.INVALID, f"农户不存在 / unknown farmer {lot.farmer!r}")
            continue
        if lot.station not in station_coop:
            acks[i] = _ack(
                key, ItemResult.INVALID, f"收购站不存在 / unknown station {lot.station!r}"
            )
            continue
        if farmers[lot.farmer] != station_coop[lot.station]:
            acks[i] = _ack(
                key,
                ItemResult.INVALID,
                f"农户 {lot.farmer} 不属于收购站 {lot.station} 的合作社 / farmer {lot.farmer!r} "
                f"is not of station {lot.station!r}'s cooperative",
            )
            refused.append(key)
            continue
        seen[lot.id] = h
        fresh.append(i)

    if fresh:
        _store_new(session, lots, hashes, fresh, farmers, book, market_fallback_days)
        for i in fresh:
            acks[i] = _ack(keys[i], ItemResult.ACCEPTED)
    if refused:
        LOTS_REFUSED.labels("cooperative_scope").inc(len(refused))
        record(
            session=session, actor="system", action="lots_refused", entity="lot",
            entity_id=refused[0], reason="cooperative_scope", lots=refused[:1000],
            count=len(refused),
        )
    return IngestResult([acks[i] for i in range(len(lots))])


def _ack(key: str, result: ItemResult, message: str = "") -> ItemAck:
    return ItemAck(id=key, result=result, message=message)


_NO_ITEMS: list[Any] = []  # shared by the many lots without per-item results


def _store_new(
    session: Session,
    lots: Sequence[LotRecord],
    hashes: Sequence[str],
    fresh: Sequence[int],
    farmers: dict[str, str],
    book: ContractBook,
    fallback_days: int,
) -> None:
    days = {i: intake_date(lots[i].captured_at) for i in fresh}
    market = MarketBook.load(
        session,
        cooperative_ids={farmers[lots[i].farmer] for i in fresh},
        first_day=min(days.values()),
        last_day=max(days.values()),
        fallback_days=fallback_days,
    )
    chosen = {i: book.pick(lots[i].farmer, lots[i].product.value, days[i]) for i in fresh}

    # Every non-reject lot under a contract counts toward its quota, priced or not.
    counting: dict[str, int] = {}
    for i in fresh:
        c = chosen[i]
        if c is not None and lots[i].grade is not Grade.REJECT:
            counting[c.id] = counting.get(c.id, 0) + lots[i].net_g
    used = consume_quota(session=session, grams_by_contract=counting)

    now = utcnow()
    lot_rows: list[dict[str, Any]] = []
    part_rows: list[dict[str, Any]] = []
    deltas: dict[tuple[date, str, str, str], AggregateDelta] = {}
    # Lots of a batch share a few graders: one JSON document each, not one per lot (keyed
    # by a plain tuple: hashing and comparing models is several times slower).
    graders: dict[tuple[str | None, ...], dict[str, Any]] = {}
    for i in fresh:  # already in order of arrival
        lot, c, day = lots[i], chosen[i], days[i]
        coop = farmers[lot.farmer]
        product, grade = lot.product.value, lot.grade.value
        result: PriceResult
        if c is None:
            result = price_lot(
                net_g=lot.net_g, grade=lot.grade, contract=None, market=None, quota_used_before_g=0
            )
        else:
            ref = None
            if lot.grade is not Grade.REJECT:
                ref = market.find(coop, product, grade, day)
            result = price_lot(
                net_g=lot.net_g,
                grade=lot.grade,
                contract=book.terms(c),
                market=ref,
                quota_used_before_g=used.get(c.id, 0),
            )
            if result.quota_counted_g:
                used[c.id] = used.get(c.id, 0) + result.quota_counted_g
            for n, part in enumerate(result.parts, start=1):
                part_rows.append(
                    {
                        "lot_id": lot.id,
                        "part_no": n,
                        "net_g": part.net_g,
                        "unit_fen_per_kg": part.unit_fen_per_kg,
                        "amount_fen": part.amount_fen,
                        "basis": part.basis,
                        "market_day": ref.day
                        if ref is not None and part.basis != "reject"
                        else None,
                        "explanation": part.explanation,
                    }
                )
        gb = lot.graded_by
        gb_key = (gb.kind, gb.model_name, gb.model_version, gb.operator, gb.reason)
        graded_by = graders.get(gb_key)
        if graded_by is None:
            graded_by = graders[gb_key] = gb.model_dump(mode="json")
        amount = result.amount_fen
        lot_rows.append(
            {
                "id": lot.id,
                "station_id": lot.station,
                "farmer_id": lot.farmer,
                "cooperative_id": coop,
                "product": product,
                "grade": grade,
                "gross_g": lot.gross_g,
                "tare_g": lot.tare_g,
                "net_g": lot.net_g,
                "graded_by": graded_by,
                "items": lot.items or _NO_ITEMS,
                "image_hashes": list(lot.image_hashes) if lot.image_hashes else _NO_ITEMS,
                "captured_at": lot.captured_at,
                "intake_date": day,
                "cold_room": lot.cold_room,
                "operator": lot.operator,
                "content_hash": hashes[i],
                "received_at": now,
                "contract_id": c.id if c is not None else None,
                "status": "priced" if amount is not None else "unpriced",
                "amount_fen": amount,
                "unpriced_reason": result.unpriced_reason,
            }
        )
        key = (day, lot.station, product, grade)
        delta = deltas.get(key)
        if delta is None:
            delta = deltas[key] = AggregateDelta()
        delta.add(net_g=lot.net_g, amount_fen=amount)

    # Core executemany / COPY (not the ORM bulk path): one batched statement per table.
    bulk_insert(session, _LOTS, lot_rows)
    bulk_insert(session, _PARTS, part_rows)
    apply_deltas(session=session, deltas=deltas)
    # after the lots (a token row references its lot); the hash only, never the token
    register_tokens(session=session, lots=[lots[i] for i in fresh], now=now)


# The look-ups below use the tables' Core columns: same SQL, without the ORM's statement
# compilation and result machinery on every batch.
def _stored_hashes(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    out: dict[uuid.UUID, str] = {}
    unique = sorted(set(ids))
    c = _LOTS.c
    for start in range(0, len(unique), 900):
        chunk = unique[start : start + 900]
        stmt = select(c.id, c.content_hash).where(in_values(session, c.id, chunk))
        out.update((r[0], r[1]) for r in session.execute(stmt))
    return out


def _station_cooperatives(session: Session, ids: set[str]) -> dict[str, str]:
    c = _STATIONS.c
    rows = session.execute(select(c.id, c.cooperative_id).where(c.id.in_(sorted(ids))))
    return {r[0]: r[1] for r in rows}


def price_manually(
    *, session: Session, lot_id: uuid.UUID, unit_fen_per_kg: int, reason: str, actor: str
) -> Lot:
    """Review of an unpriced lot: a person sets its unit price, with a reason.

    This is the lot's first and only price (the rule could not price it); the daily
    aggregate moves it from unpriced to priced in the same transaction.
    """
    lot = session.get(Lot, lot_id, with_for_update=True)
    if lot is None:
        raise NotFound(f"批次不存在 / unknown lot {lot_id}")
    if lot.status != "unpriced":
        raise InvalidState(
            "该批次已定价，不能重新定价 / this lot is already priced; prices never change"
        )
    if unit_fen_per_kg < 0 or not reason.strip():
        raise Invalid("需要非负单价和理由 / a non-negative unit price and a reason are needed")
    amount = amount_fen(lot.net_g, unit_fen_per_kg)
    text = (
        f"人工定价 {fen_to_yuan_str(unit_fen_per_kg)} 元/kg（{actor}：{reason.strip()}；"
        f"原因 / was: {lot.unpriced_reason}）"
    )
    session.add(
        LotPart(
            lot_id=lot.id,
            part_no=1,
            net_g=lot.net_g,
            unit_fen_per_kg=unit_fen_per_kg,
            amount_fen=amount,
            basis="manual",
            market_day=None,
            explanation=text,
        )
    )
    lot.status = "priced"
    lot.amount_fen = amount
    delta = AggregateDelta(lots=0, net_g=0, unpriced_lots=-1, amount_fen=amount)
    apply_deltas(
        session=session, deltas={(lot.intake_date, lot.station_id, lot.product, lot.grade): delta}
    )
    record(
        session=session,
        actor=actor,
        action="lot_priced_manually",
        entity="lot",
        entity_id=str(lot.id),
        unit_fen_per_kg=unit_fen_per_kg,
        amount_fen=amount,
        reason=reason.strip(),
    )
    session.flush()
    return lot
