"""Farmers (bank account and phone sealed at rest, shown masked) and buyers."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import select

from server.audit.service import record
from server.core.deps import (
    AdminUser,
    CurrentUser,
    SessionDep,
    check_cooperative,
    scope_cooperative,
)
from server.core.errors import Conflict, Invalid, NotFound
from server.farmers.models import Buyer, Farmer
from server.farmers.sealed import SEALED_FIELDS, FieldCipherDep, sealed_columns
from server.stations.models import Cooperative

router = APIRouter(prefix="/api/v1", tags=["farmers"])


class FarmerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    cooperative: str = Field(min_length=1, max_length=64)
    household: str | None = Field(default=None, max_length=200)
    village: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    low_income: StrictBool = False
    bank_account: str | None = Field(default=None, pattern=r"^[0-9 ]{8,40}$")
    card_code: str | None = Field(default=None, max_length=128)


class FarmerPatch(BaseModel):
    """The fields to change (absent: kept; ``null``: cleared, where a field may be empty)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    household: str | None = Field(default=None, max_length=200)
    village: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    low_income: StrictBool | None = None
    bank_account: str | None = Field(default=None, pattern=r"^[0-9 ]{8,40}$")
    card_code: str | None = Field(default=None, max_length=128)


class FarmerOut(BaseModel):
    id: str
    name: str
    cooperative: str
    household: str | None
    village: str | None
    phone_masked: str | None  # 138****5678: the full number is never shown
    low_income: bool
    bank_account_masked: str | None  # **** **** **** 7890
    card_code: str | None

    @classmethod
    def of(cls, f: Farmer) -> FarmerOut:
        return cls(
            id=f.id,
            name=f.name,
            cooperative=f.cooperative_id,
            household=f.household,
            village=f.village,
            phone_masked=f.phone_masked,
            low_income=f.low_income,
            bank_account_masked=f.bank_account_masked,
            card_code=f.card_code,
        )


class BuyerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    cooperative: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    contact: str | None = Field(default=None, max_length=200)


@router.get("/farmers", response_model=list[FarmerOut])
def list_farmers(
    session: SessionDep,
    user: CurrentUser,
    cooperative: str | None = None,
    low_income: StrictBool | None = None,
) -> list[FarmerOut]:
    coop = scope_cooperative(user, cooperative)
    stmt = select(Farmer).order_by(Farmer.id).limit(5000)
    if coop is not None:
        stmt = stmt.where(Farmer.cooperative_id == coop)
    if low_income is not None:
        stmt = stmt.where(Farmer.low_income == low_income)
    return [FarmerOut.of(f) for f in session.scalars(stmt)]


@router.get("/farmers/{farmer_id}", response_model=FarmerOut)
def get_farmer(farmer_id: str, session: SessionDep, user: CurrentUser) -> FarmerOut:
    farmer = session.get(Farmer, farmer_id)
    if farmer is None:
        raise NotFound(f"农户不存在 / unknown farmer {farmer_id!r}")
    check_cooperative(user, farmer.cooperative_id)
    return FarmerOut.of(farmer)


@router.post("/farmers", response_model=FarmerOut, status_code=201)
def create_farmer(
    body: FarmerBody, session: SessionDep, admin: AdminUser, cipher: FieldCipherDep
) -> FarmerOut:
    if session.get(Cooperative, body.cooperative) is None:
        raise Invalid(f"合作社不存在 / unknown cooperative {body.cooperative!r}")
    if session.get(Farmer, body.id) is not None:
        raise Conflict(f"农户已存在 / farmer {body.id!r} exists")
    farmer = Farmer(
        cooperative_id=body.cooperative,
        **body.model_dump(exclude={"cooperative", "bank_account", "phone"}),
        **sealed_columns(
            cipher=cipher, values={"bank_account": body.bank_account, "phone": body.phone}
        ),
    )
    session.add(farmer)
    record(
        session=session,
        actor=admin.name,
        action="farmer_created",
        entity="farmer",
        entity_id=body.id,
    )
    session.flush()
    return FarmerOut.of(farmer)


@router.patch("/farmers/{farmer_id}", response_model=FarmerOut)
def update_farmer(
    farmer_id: str,
    body: FarmerPatch,
    session: SessionDep,
    admin: AdminUser,
    cipher: FieldCipherDep,
) -> FarmerOut:
    """Change a farmer; a new bank account or phone is sealed (the audit names the fields
    changed, never their values)."""
    farmer = session.get(Farmer, farmer_id)
    if farmer is None:
        raise NotFound(f"农户不存在 / unknown farmer {farmer_id!r}")
    check_cooperative(admin, farmer.cooperative_id)
    changes = body.model_dump(exclude_unset=True)
    for name in ("name", "low_income"):
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} 不能为空 / {name} cannot be null")
    contact = {k: changes.pop(k) for k in SEALED_FIELDS if k in changes}
    for column, value in {**changes, **sealed_columns(cipher=cipher, values=contact)}.items():
        setattr(farmer, column, value)
    record(
        session=session,
        actor=admin.name,
        action="farmer_updated",
        entity="farmer",
        entity_id=farmer_id,
        fields=sorted([*changes, *contact]),
    )
    session.flush()
    return FarmerOut.of(farmer)


@router.get("/buyers", response_model=list[BuyerBody])
def list_buyers(
    session: SessionDep, user: CurrentUser, cooperative: str | None = None
) -> list[BuyerBody]:
    coop = scope_cooperative(user, cooperative)
    stmt = select(Buyer).order_by(Buyer.id)
    if coop is not None:
        stmt = stmt.where(Buyer.cooperative_id == coop)
    return [
        BuyerBody(id=b.id, cooperative=b.cooperative_id, name=b.name, contact=b.contact)
        for b in session.scalars(stmt)
    ]


@router.post("/buyers", response_model=BuyerBody, status_code=201)
def create_buyer(body: BuyerBody, session: SessionDep, admin: AdminUser) -> BuyerBody:
    if session.get(Cooperative, body.cooperative) is None:
        raise Invalid(f"合作社不存在 / unknown cooperative {body.cooperative!r}")
    if session.get(Buyer, body.id) is not None:
        raise Conflict(f"收购商已存在 / buyer {body.id!r} exists")
    session.add(
        Buyer(id=body.id, cooperative_id=body.cooperative, name=body.name, contact=body.contact)
    )
    record(
        session=session, actor=admin.name, action="buyer_created", entity="buyer", entity_id=body.id
    )
    return body
