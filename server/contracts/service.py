"""Contracts for the pages and the API: listed, read, created and changed within the
signed-in user's cooperative (admins: every cooperative). Never commits.

A change never re-prices a lot (lots are priced once, on arrival); it applies to lots
that arrive after it. A changed quota cannot go below the grams already counted toward
it (one already exceeded may stay as it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.models import User
from server.contracts.models import Contract
from server.core.deps import check_cooperative, scope_cooperative
from server.core.errors import Conflict, Forbidden, Invalid, NotFound
from server.farmers.models import Farmer
from server.importer.shapes import ContractIn

MAX_LISTED = 5000


def can_edit(user: User) -> bool:
    """Contracts are changed by admins only (the JSON API's rule as well)."""
    return user.role == "admin"


def _require_editor(user: User) -> None:
    if not can_edit(user):
        raise Forbidden("只有管理员可以修改合同 / only an admin can change contracts")


@dataclass(frozen=True, slots=True)
class ContractView:
    contract: Contract
    farmer_name: str
    cooperative_id: str


def list_contracts(
    *, session: Session, user: User, farmer_id: str | None = None, product: str | None = None
) -> list[ContractView]:
    """The contracts the user may see, by farmer, product and start date."""
    scope = scope_cooperative(user, None)
    stmt = (
        select(Contract, Farmer.name, Farmer.cooperative_id)
        .join(Farmer, Farmer.id == Contract.farmer_id)
        .order_by(Farmer.cooperative_id, Contract.farmer_id, Contract.product, Contract.valid_from)
        .limit(MAX_LISTED)
    )
    if scope is not None:
        stmt = stmt.where(Farmer.cooperative_id == scope)
    if farmer_id is not None:
        stmt = stmt.where(Contract.farmer_id == farmer_id)
    if product is not None:
        stmt = stmt.where(Contract.product == product)
    return [ContractView(c, name, coop) for c, name, coop in session.execute(stmt)]


def get_contract(*, session: Session, user: User, contract_id: str) -> ContractView:
    """One contract the user may see (another cooperative's answers "not found")."""
    row = session.execute(
        select(Contract, Farmer.name, Farmer.cooperative_id)
        .join(Farmer, Farmer.id == Contract.farmer_id)
        .where(Contract.id == contract_id)
    ).first()
    scope = scope_cooperative(user, None)
    if row is None or (scope is not None and row[2] != scope):
        raise NotFound(f"合同不存在 / unknown contract {contract_id!r}")
    return ContractView(row[0], row[1], row[2])


def farmers_for(*, session: Session, user: User) -> list[Farmer]:
    """Farmers a new contract may be for (the user's cooperative)."""
    scope = scope_cooperative(user, None)
    stmt = select(Farmer).order_by(Farmer.cooperative_id, Farmer.id).limit(MAX_LISTED)
    if scope is not None:
        stmt = stmt.where(Farmer.cooperative_id == scope)
    return list(session.scalars(stmt))


def create_contract(*, session: Session, user: User, body: ContractIn) -> Contract:
    """A new contract for a farmer of the user's cooperative."""
    _require_editor(user)
    farmer = session.get(Farmer, body.farmer)
    if farmer is None:
        raise Invalid(f"农户不存在 / unknown farmer {body.farmer!r}")
    check_cooperative(user, farmer.cooperative_id)
    if session.get(Contract, body.id) is not None:
        raise Conflict(f"合同已存在 / contract {body.id!r} exists")
    contract = Contract(id=body.id, **body.columns(), quota_used_g=0)
    session.add(contract)
    record(
        session=session,
        actor=user.name,
        action="contract_created",
        entity="contract",
        entity_id=body.id,
    )
    session.flush()
    return contract


@dataclass(frozen=True, slots=True)
class ContractTermsIn:
    """What a contract's edit may change (farmer, product and id stay)."""

    signed_on: date
    valid_from: date
    valid_to: date
    floor_extra_fen_per_kg: int | None
    floor_class_i_fen_per_kg: int | None
    floor_class_ii_fen_per_kg: int | None
    premium_pct: str | None
    quota_g: int | None
    reject_fen_per_kg: int


class QuotaBelowUsed(Invalid):
    """The new quota is smaller than the grams already counted toward it."""

    code = "quota_below_used"


def update_contract(
    *, session: Session, user: User, contract_id: str, terms: ContractTermsIn
) -> Contract:
    """Change a contract's terms; lots already priced keep their price."""
    _require_editor(user)
    contract = get_contract(session=session, user=user, contract_id=contract_id).contract
    if terms.valid_from > terms.valid_to:
        raise Invalid("生效日期晚于截止日期 / valid_from is after valid_to")
    lowered = terms.quota_g is not None and terms.quota_g != contract.quota_g
    if lowered and terms.quota_g is not None and terms.quota_g < contract.quota_used_g:
        raise QuotaBelowUsed(
            f"配额不能小于已计入的 {contract.quota_used_g} 克 / the quota cannot be below the "
            f"{contract.quota_used_g} g already counted"
        )
    before = _terms_of(contract)
    for name, value in _items(terms):
        setattr(contract, name, value)
    # The audit entry names each changed term, old and new.
    changed = {
        k: [str(v), str(getattr(contract, k))]
        for k, v in before.items()
        if getattr(contract, k) != v
    }
    if changed:
        record(
            session=session,
            actor=user.name,
            action="contract_updated",
            entity="contract",
            entity_id=contract_id,
            changes=changed,
        )
    session.flush()
    return contract


_TERMS = tuple(ContractTermsIn.__dataclass_fields__)


def _items(terms: ContractTermsIn) -> list[tuple[str, object]]:
    return [(name, getattr(terms, name)) for name in _TERMS]


def _terms_of(contract: Contract) -> dict[str, object]:
    return {name: getattr(contract, name) for name in _TERMS}
