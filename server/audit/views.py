"""Read the audit log (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from server.audit.service import entries
from server.core.deps import AdminUser, SessionDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]


@router.get("/audit", response_model=list[AuditOut])
def audit(
    session: SessionDep,
    admin: AdminUser,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[AuditOut]:
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            detail=e.detail,
        )
        for e in entries(session=session, entity=entity, entity_id=entity_id, limit=limit)
    ]
