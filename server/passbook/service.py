"""Passbook keys: register each lot's receipt token (as a SHA-256), open one, revoke a farmer's.

The token is made at the station when the lot is recorded (offline; it is printed in the
receipt's QR code) and reaches the server with the lot. The server keeps only its SHA-256,
so a lookup is by hash (no secret is compared byte by byte, nothing to time). Revoking a
farmer kills every token of theirs, and any token that arrives later for a lot captured
before the revocation. Services never commit; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from gongfang.wire import LotRecord
from server.audit.service import record
from server.core.db import bulk_insert, in_values, utcnow
from server.core.errors import NotFound
from server.farmers.models import Farmer
from server.passbook.models import PassbookRevocation, PassbookToken

log = logging.getLogger(__name__)

_TOKENS = cast(Table, PassbookToken.__table__)
_MAX_TOKEN_CHARS = 86  # what the wire accepts (512 random bits); longer is never ours


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def register_tokens(
    *, session: Session, lots: Sequence[LotRecord], now: datetime | None = None
) -> int:
    """Store the hash of each new lot's passbook token; returns how many were stored.

    Called with the lots just accepted (each lot once). A token already stored (reused by
    a faulty station, or the lot's resend) is skipped and logged, never an error: a bad
    token must not hold up the station's whole sync.
    """
    wanted = [(lot, token_hash(lot.passbook_token)) for lot in lots if lot.passbook_token]
    if not wanted:
        return 0
    now = now or utcnow()
    c = _TOKENS.c
    hashes = sorted({h for _, h in wanted})
    known: set[str] = set()
    for start in range(0, len(hashes), 900):
        chunk = hashes[start : start + 900]
        known.update(
            session.scalars(select(c.token_sha256).where(in_values(session, c.token_sha256, chunk)))
        )
    cutoffs = _revocations(session, {lot.farmer for lot, _ in wanted})
    rows: list[dict[str, Any]] = []
    for lot, h in wanted:
        if h in known:
            log.warning(
                "批次 %s 的农户查询码重复，已忽略 / lot %s: passbook token reused", lot.id, lot.id
            )
            continue
        known.add(h)
        cutoff = cutoffs.get(lot.farmer)
        born_revoked = cutoff is not None and lot.captured_at <= cutoff
        rows.append(
            {
                "token_sha256": h,
                "lot_id": lot.id,
                "farmer_id": lot.farmer,
                "created_at": now,
                "revoked_at": cutoff if born_revoked else None,
            }
        )
    bulk_insert(session, _TOKENS, rows)
    return len(rows)


def _revocations(session: Session, farmer_ids: set[str]) -> dict[str, datetime]:
    r = cast(Table, PassbookRevocation.__table__).c
    stmt = select(r.farmer_id, r.revoked_at).where(r.farmer_id.in_(sorted(farmer_ids)))
    return {row[0]: row[1] for row in session.execute(stmt)}


def open_token(*, session: Session, token: str) -> PassbookToken | None:
    """The live key a token names, or None (unknown, malformed or revoked: all alike)."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return None
    key = session.get(PassbookToken, token_hash(token))
    if key is None or key.revoked_at is not None:
        return None
    return key


def revoke_farmer(*, session: Session, farmer_id: str, actor: str) -> int:
    """Revoke every passbook link of a farmer (their printed receipts' QR codes).

    Returns how many live tokens died. Lots captured up to now whose tokens reach the server
    later are stored revoked. New lots get new tokens, which work.
    """
    farmer = session.get(Farmer, farmer_id)
    if farmer is None:
        raise NotFound(f"农户不存在 / unknown farmer {farmer_id!r}")
    now = utcnow()
    c = _TOKENS.c
    result = session.execute(
        update(_TOKENS)
        .where(c.farmer_id == farmer_id, c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    prior = session.get(PassbookRevocation, farmer_id)
    if prior is None:
        session.add(PassbookRevocation(farmer_id=farmer_id, revoked_at=now, revoked_by=actor))
    else:
        prior.revoked_at = now
        prior.revoked_by = actor
    record(
        session=session,
        actor=actor,
        action="passbook_revoked",
        entity="farmer",
        entity_id=farmer_id,
        tokens=count,
    )
    session.flush()
    return count
