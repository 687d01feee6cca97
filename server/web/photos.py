"""``GET /coop/lots/{lot_id}/photo.jpg``: a lot's photo on the cooperative pages (session
cookie; users of the lot's cooperative only, everyone else gets the not-found page)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import FileResponse

from server.core.deps import SessionDep, SettingsDep
from server.photos.service import lot_photo_path
from server.photos.views import photo_response
from server.web.session import PageUser

router = APIRouter(include_in_schema=False)


@router.get("/coop/lots/{lot_id}/photo.jpg", response_model=None)
def coop_lot_photo(
    lot_id: uuid.UUID, session: SessionDep, settings: SettingsDep, user: PageUser
) -> FileResponse:
    return photo_response(
        lot_photo_path(session=session, user=user, lot_id=lot_id, root=settings.photos_dir)
    )
