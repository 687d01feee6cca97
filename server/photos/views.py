"""Lot photos: a station uploads (``X-Api-Key``), the lot's cooperative looks (bearer token
on the API, the session cookie on the pages)."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from gongfang.settings import ServerSettings
from server.core.db import session_scope
from server.core.deps import CurrentUser, SessionDep, SettingsDep, StationDep
from server.photos.service import lot_photo_path, store_photo

router = APIRouter(prefix="/api/v1", tags=["photos"])

# Content-addressed and access-checked: browsers may keep it, shared caches may not.
_CACHE = "private, max-age=86400"


class PhotoAck(BaseModel):
    sha256: str
    size_bytes: int
    result: str  # accepted | duplicate


@router.put(
    "/photos/{sha256}",
    response_model=PhotoAck,
    responses={201: {"model": PhotoAck}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_photo(
    request: Request, sha256: str, lot: uuid.UUID, station: StationDep
) -> JSONResponse:
    """One kept camera frame of the station's lot ``lot`` (body: the JPEG bytes).

    Idempotent by SHA-256: 201 the first time, 200 ``duplicate`` after. The server
    recomputes the hash and refuses a mismatch (422 ``hash_mismatch``), anything but a
    JPEG (422 ``not_jpeg``), more than ``photo_max_bytes`` (413), and a photo no lot of
    this station names (404 ``no_lot_for_photo``).
    """
    body = await request.body()
    state = request.app.state
    settings: ServerSettings = state.settings
    factory: sessionmaker[Session] = state.sessions

    def work() -> PhotoAck:
        with session_scope(factory) as session:
            stored = store_photo(
                session=session,
                station_id=station.id,
                lot_id=lot,
                sha256=sha256,
                data=body,
                root=settings.photos_dir,
                max_bytes=settings.photo_max_bytes,
            )
        return PhotoAck(
            sha256=stored.sha256,
            size_bytes=stored.size_bytes,
            result="accepted" if stored.created else "duplicate",
        )

    ack = await run_in_threadpool(work)
    return JSONResponse(ack.model_dump(), status_code=201 if ack.result == "accepted" else 200)


def photo_response(path: Path) -> FileResponse:
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": _CACHE})


@router.get(
    "/lots/{lot_id}/photo.jpg",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def lot_photo(
    lot_id: uuid.UUID, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> FileResponse:
    """The lot's photo, for users of the lot's cooperative (others: 404)."""
    return photo_response(
        lot_photo_path(session=session, user=user, lot_id=lot_id, root=settings.photos_dir)
    )
