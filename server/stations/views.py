"""Edge-facing API (station key): sync and directory; admin API for stations and keys."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from gongfang.settings import ServerSettings
from gongfang.wire import (
    ContractHint,
    FarmerHint,
    Grade,
    Ident,
    MarketHint,
    OperatorHint,
    Product,
    StationDirectory,
    SyncAck,
    SyncBatch,
)
from server.audit.service import record
from server.auth.models import User
from server.contracts.models import Contract
from server.core.db import session_scope, utcnow
from server.core.deps import (
    AdminUser,
    CurrentUser,
    SessionDep,
    StationDep,
    scope_cooperative,
)
from server.core.errors import Conflict, Invalid, NotAuthenticated, NotFound, PayloadTooLarge
from server.core.metrics import SYNC_LOTS
from server.farmers.models import Farmer
from server.pricing.models import MarketPrice
from server.pricing.service import intake_date
from server.stations.clock import clock_skew_s, edge_clock, note_clock_skew
from server.stations.models import Cooperative, Station
from server.stations.service import (
    StationIdentity,
    StationKeyCache,
    hash_key,
    identity_for_key,
    issue_station_key,
    revoke_station_key,
    verify_station_key,
)
from server.stations.sync import check_station, handle_sync

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["stations"])
SYNC_ATTEMPTS = 4


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` substituted in place (for a self-contained doc)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


# The body is parsed by hand (one pass from bytes to SyncBatch); this documents it.
_SYNC_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline_refs(SyncBatch.model_json_schema())}},
    }
}


@router.post("/sync", response_model=SyncAck, openapi_extra=_SYNC_BODY_DOC)
async def sync(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> Response:
    """Lots, alarms, climate and lots' cold-room stays from one station's outbox
    (header ``X-Api-Key``).

    The key is checked before the body is read (from the per-process cache of verified
    keys, else the database); the body goes from bytes to :class:`SyncBatch` in one
    validation pass, and the whole batch is stored in one transaction that re-checks the
    key.
    """
    if not x_api_key:
        raise NotAuthenticated("缺少收购站密钥 / missing X-Api-Key header")
    state = request.app.state
    key_hash = hash_key(x_api_key)
    cache: StationKeyCache = state.station_keys
    ident = cache.get(key_hash)
    if ident is None:
        ident = await run_in_threadpool(_lookup_key, state.sessions, key_hash)
        if ident is None:
            raise NotAuthenticated("收购站密钥无效 / unknown station API key")
        cache.put(ident)
    body = await request.body()
    received_at = utcnow()
    edge_now = edge_clock(request.headers.get("date"))
    return await run_in_threadpool(_sync_blocking, state, ident, body, received_at, edge_now)


def _lookup_key(factory: sessionmaker[Session], key_hash: str) -> StationIdentity | None:
    with factory() as session:
        return identity_for_key(session=session, key_hash=key_hash)


def _sync_blocking(
    state: Any,
    station: StationIdentity,
    body: bytes,
    received_at: datetime,
    edge_now: datetime | None,
) -> Response:
    settings: ServerSettings = state.settings
    factory: sessionmaker[Session] = state.sessions
    try:
        batch = SyncBatch.model_validate_json(body)
    except ValidationError as exc:
        # Same 422 answer as FastAPI's own body validation (locations start at "body").
        raise RequestValidationError(
            [
                {"loc": ("body", *err["loc"]), "msg": err["msg"], "type": err["type"]}
                for err in exc.errors(include_url=False, include_context=False)
            ]
        ) from None
    if len(batch.lots) > settings.max_batch_lots:
        raise PayloadTooLarge(
            f"一次最多 {settings.max_batch_lots} 个批次 / at most {settings.max_batch_lots} "
            "lots per request"
        )
    check_station(station=station, batch=batch)
    # Two workers may race on the same new lot id or deadlock on shared rows: the loser's
    # transaction rolls back whole, and a retry sees the winner's rows (duplicate/conflict).
    for attempt in range(SYNC_ATTEMPTS):
        try:
            with session_scope(factory) as session:
                try:
                    verify_station_key(session=session, ident=station)
                except NotAuthenticated:
                    state.station_keys.forget(station.key_hash)
                    raise
                ack = handle_sync(
                    session=session,
                    station=station,
                    batch=batch,
                    market_fallback_days=settings.market_fallback_days,
                )
            break
        except (IntegrityError, DBAPIError) as exc:
            if attempt == SYNC_ATTEMPTS - 1 or not _retryable(exc):
                raise
            log.info("sync from %s retried after %s", station.id, type(exc.orig).__name__)
    for result, n in Counter(item.result.value for item in ack.lots).items():
        SYNC_LOTS.labels(result=result).inc(n)
    # A wrong clock is flagged, never a reason to refuse (the lots are stored as sent).
    skew = clock_skew_s(
        received_at=received_at, edge_now=edge_now, captured=[lot.captured_at for lot in batch.lots]
    )
    if skew is not None:
        note_clock_skew(sessions=factory, station_id=station.id, skew_s=skew)
    # Serialised once here (the response model documents it; no second validation pass).
    # "stays" is left out when empty: an edge from before stays refuses unknown keys.
    answer = ack.model_dump_json(exclude={"stays"} if not ack.stays else None)
    return Response(answer, media_type="application/json")


def _retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    text = str(exc.orig).lower()
    return any(s in text for s in ("deadlock", "could not serialize", "database is locked"))


@router.get("/station/directory", response_model=StationDirectory)
def directory(station: StationDep, session: SessionDep) -> StationDirectory:
    """Farmers of the key's cooperative with their contracts, 7 days of market prices, and
    its operators' console PIN hashes."""
    coop = station.cooperative_id
    today = intake_date(utcnow())
    farmers = list(
        session.scalars(select(Farmer).where(Farmer.cooperative_id == coop).order_by(Farmer.id))
    )
    contracts: dict[str, list[Contract]] = {}
    for c in session.scalars(
        select(Contract)
        .join(Farmer, Farmer.id == Contract.farmer_id)
        .where(Farmer.cooperative_id == coop, Contract.valid_to >= today - timedelta(days=7))
        .order_by(Contract.signed_on)
    ):
        contracts.setdefault(c.farmer_id, []).append(c)
    hints = [
        FarmerHint(
            id=f.id,
            name=f.name,
            card_code=f.card_code,
            contracts=[_contract_hint(c) for c in contracts.get(f.id, [])],
        )
        for f in farmers
    ]
    market = [
        MarketHint(
            product=Product(m.product),
            grade=Grade(m.grade),
            date=m.day.isoformat(),
            fen_per_kg=m.fen_per_kg,
        )
        for m in session.scalars(
            select(MarketPrice)
            .where(
                MarketPrice.cooperative_id == coop,
                MarketPrice.day >= today - timedelta(days=6),
                MarketPrice.day <= today,
            )
            .order_by(MarketPrice.day, MarketPrice.product, MarketPrice.grade)
        )
    ]
    operators = [
        OperatorHint(name=u.name, pin_hash=u.pin_hash)
        for u in session.scalars(
            select(User)
            .where(User.cooperative_id == coop, User.role == "operator", User.pin_hash.is_not(None))
            .order_by(User.name)
        )
        if u.pin_hash
    ]
    return StationDirectory(
        station=station.id, cooperative=coop, farmers=hints, market=market, operators=operators
    )


def _contract_hint(c: Contract) -> ContractHint:
    floors = {
        g: v
        for g, v in (
            (Grade.EXTRA, c.floor_extra_fen_per_kg),
            (Grade.CLASS_I, c.floor_class_i_fen_per_kg),
            (Grade.CLASS_II, c.floor_class_ii_fen_per_kg),
        )
        if v is not None
    }
    return ContractHint(
        product=Product(c.product),
        valid_from=c.valid_from.isoformat(),
        valid_to=c.valid_to.isoformat(),
        floor_fen_per_kg=floors,
        premium_pct=c.premium_pct,
        reject_fen_per_kg=c.reject_fen_per_kg,
    )


# ---------------------------------------------------------------- admin: cooperatives, stations


class CooperativeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Ident
    name: str = Field(min_length=1, max_length=200)


class StationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Ident
    cooperative: Ident
    name: str = Field(min_length=1, max_length=200)


class StationOut(BaseModel):
    id: str
    cooperative: str
    name: str
    has_key: bool
    key_issued_at: datetime | None = None
    key_revoked_at: datetime | None = Field(
        default=None, description="吊销时间 / when the key was last revoked"
    )


def _station_out(s: Station) -> StationOut:
    return StationOut(
        id=s.id,
        cooperative=s.cooperative_id,
        name=s.name,
        has_key=s.api_key_hash is not None,
        key_issued_at=s.key_issued_at,
        key_revoked_at=s.key_revoked_at,
    )


class KeyOut(BaseModel):
    station: str
    api_key: str = Field(description="只显示一次 / shown once; only its hash is stored")


@router.post("/cooperatives", response_model=CooperativeBody, status_code=201)
def create_cooperative(
    body: CooperativeBody, session: SessionDep, admin: AdminUser
) -> CooperativeBody:
    if session.get(Cooperative, body.id) is not None:
        raise Conflict(f"合作社已存在 / cooperative {body.id!r} exists")
    session.add(Cooperative(id=body.id, name=body.name))
    record(
        session=session,
        actor=admin.name,
        action="cooperative_created",
        entity="cooperative",
        entity_id=body.id,
    )
    return body


@router.get("/cooperatives", response_model=list[CooperativeBody])
def list_cooperatives(session: SessionDep, user: CurrentUser) -> list[CooperativeBody]:
    coop = scope_cooperative(user, None)
    stmt = select(Cooperative).order_by(Cooperative.id)
    if coop is not None:
        stmt = stmt.where(Cooperative.id == coop)
    return [CooperativeBody(id=c.id, name=c.name) for c in session.scalars(stmt)]


@router.post("/stations", response_model=StationOut, status_code=201)
def create_station(body: StationBody, session: SessionDep, admin: AdminUser) -> StationOut:
    if session.get(Cooperative, body.cooperative) is None:
        raise Invalid(f"合作社不存在 / unknown cooperative {body.cooperative!r}")
    if session.get(Station, body.id) is not None:
        raise Conflict(f"收购站已存在 / station {body.id!r} exists")
    session.add(Station(id=body.id, cooperative_id=body.cooperative, name=body.name))
    record(
        session=session,
        actor=admin.name,
        action="station_created",
        entity="station",
        entity_id=body.id,
    )
    return StationOut(id=body.id, cooperative=body.cooperative, name=body.name, has_key=False)


@router.get("/stations", response_model=list[StationOut])
def list_stations(
    session: SessionDep, user: CurrentUser, cooperative: str | None = None
) -> list[StationOut]:
    coop = scope_cooperative(user, cooperative)
    stmt = select(Station).order_by(Station.id)
    if coop is not None:
        stmt = stmt.where(Station.cooperative_id == coop)
    return [_station_out(s) for s in session.scalars(stmt)]


@router.post("/stations/{station_id}/key", response_model=KeyOut)
def rotate_key(station_id: str, session: SessionDep, admin: AdminUser) -> KeyOut:
    """Issue or rotate a station's API key (the old one stops working at once)."""
    if session.get(Station, station_id) is None:
        raise NotFound(f"收购站不存在 / unknown station {station_id!r}")
    return KeyOut(
        station=station_id,
        api_key=issue_station_key(session=session, station_id=station_id, actor=admin.name),
    )


@router.delete(
    "/stations/{station_id}/key",
    response_model=StationOut,
    responses={404: {"description": "unknown station, or it has no key to revoke"}},
)
def revoke_key(station_id: str, session: SessionDep, admin: AdminUser) -> StationOut:
    """Revoke a station's API key: its syncs are refused (401) at once, on every worker,
    until a new key is issued (audited)."""
    return _station_out(
        revoke_station_key(session=session, station_id=station_id, actor=admin.name)
    )
