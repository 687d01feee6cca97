"""``POST /api/v1/farmers/{farmer_id}/passbook/revoke``: staff kill a farmer's passbook links."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from server.core.deps import PayoutStaff, SessionDep, check_cooperative
from server.core.errors import NotFound
from server.farmers.models import Farmer
from server.passbook.service import revoke_farmer

router = APIRouter(prefix="/api/v1", tags=["passbook"])


class RevokedOut(BaseModel):
    farmer: str
    revoked: int  # live links that stopped opening


@router.post("/farmers/{farmer_id}/passbook/revoke", response_model=RevokedOut)
def revoke(farmer_id: str, session: SessionDep, user: PayoutStaff) -> RevokedOut:
    """Revoke every passbook link (receipt QR) of a farmer: reviewers of the farmer's
    cooperative and admins. New lots get new links."""
    farmer = session.get(Farmer, farmer_id)
    if farmer is None:
        raise NotFound(f"农户不存在 / unknown farmer {farmer_id!r}")
    check_cooperative(user, farmer.cooperative_id)
    count = revoke_farmer(session=session, farmer_id=farmer_id, actor=user.name)
    return RevokedOut(farmer=farmer_id, revoked=count)
