"""Write audit entries (in the caller's transaction) and read them back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry


def record(
    *, session: Session, actor: str, action: str, entity: str, entity_id: str, **detail: Any
) -> None:
    """Append one entry: who did what to which object (JSON-safe ``detail``)."""
    session.add(
        AuditEntry(actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail)
    )


def entries(
    *, session: Session, entity: str | None = None, entity_id: str | None = None, limit: int = 200
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return list(session.scalars(stmt))
