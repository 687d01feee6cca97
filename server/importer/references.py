"""The references of an import bundle: every record it names must be in the bundle or
the database, no record twice, and a stored lot is never given other content."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.farmers.models import Farmer
from server.importer.shapes import Parsed
from server.lots.models import Lot
from server.stations.models import Cooperative, Station


def _existing(session: Session, column: Any, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    found: set[str] = set()
    unique = sorted(ids)
    for start in range(0, len(unique), 900):
        found.update(session.scalars(select(column).where(column.in_(unique[start : start + 900]))))
    return found


def check_references(*, session: Session, p: Parsed) -> list[str]:
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
