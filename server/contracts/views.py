"""Purchase contracts per farmer and product."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from server.contracts import service
from server.contracts.models import Contract
from server.core.deps import (
    AdminUser,
    CurrentUser,
    SessionDep,
    scope_cooperative,
)
from server.farmers.models import Farmer
from server.importer.shapes import ContractIn, FloorIn

router = APIRouter(prefix="/api/v1", tags=["contracts"])


class ContractOut(BaseModel):
    id: str
    farmer: str
    product: str
    signed_on: date
    valid_from: date
    valid_to: date
    floor_fen_per_kg: FloorIn
    premium_pct: str | None
    quota_g: int | None
    quota_used_g: int
    reject_fen_per_kg: int

    @classmethod
    def of(cls, c: Contract) -> ContractOut:
        return cls(
            id=c.id,
            farmer=c.farmer_id,
            product=c.product,
            signed_on=c.signed_on,
            valid_from=c.valid_from,
            valid_to=c.valid_to,
            floor_fen_per_kg=FloorIn.of(c),
            premium_pct=c.premium_pct,
            quota_g=c.quota_g,
            quota_used_g=c.quota_used_g,
            reject_fen_per_kg=c.reject_fen_per_kg,
        )


@router.get("/contracts", response_model=list[ContractOut])
def list_contracts(
    session: SessionDep,
    user: CurrentUser,
    farmer: str | None = None,
    cooperative: str | None = None,
) -> list[ContractOut]:
    coop = scope_cooperative(user, cooperative)
    stmt = (
        select(Contract)
        .join(Farmer, Farmer.id == Contract.farmer_id)
        .order_by(Contract.id)
        .limit(5000)
    )
    if coop is not None:
        stmt = stmt.where(Farmer.cooperative_id == coop)
    if farmer is not None:
        stmt = stmt.where(Contract.farmer_id == farmer)
    return [ContractOut.of(c) for c in session.scalars(stmt)]


@router.post("/contracts", response_model=ContractOut, status_code=201)
def create_contract(body: ContractIn, session: SessionDep, admin: AdminUser) -> ContractOut:
    return ContractOut.of(service.create_contract(session=session, user=admin, body=body))
