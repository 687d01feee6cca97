"""The farmer passbook: ``/p/{token}`` opens the lot of a receipt's QR code, no sign-in.

The token is the key: it names one farmer, and every page under it shows that farmer's
data only (their lot, their season's lots, their payouts). A wrong, malformed or revoked
token, a lot of someone else, a path that is not there: all answer the same plain
"not found" page (404), which names nobody. Pages are never cached and send no Referer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from gongfang.settings import ServerSettings
from gongfang.web.fmt import today_local
from gongfang.web.i18n import request_lang
from server.core.deps import SessionDep, SettingsDep
from server.passbook import queries
from server.passbook.estimate import estimate_for
from server.passbook.models import PassbookToken
from server.passbook.service import open_token
from server.pricing.rule import NO_CONTRACT, NO_MARKET_OVER_QUOTA, NO_PRICE
from server.web.errors import one_language
from server.web.pages import render

log = logging.getLogger(__name__)

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "X-Robots-Tag": "noindex, nofollow",
}


def _page(request: Request, name: str, ctx: dict[str, object], status: int = 200) -> HTMLResponse:
    response = render(request, name, ctx, status=status)
    response.headers.update(_HEADERS)
    return response


# The price rule writes its explanations in Chinese (they are stored with each priced part);
# an English page reads them through this glossary: the numbers are the same either way.
_GLOSSARY: tuple[tuple[str, str], ...] = (
    *((r, r.split(" / ", 1)[1]) for r in (NO_CONTRACT, NO_PRICE, NO_MARKET_OVER_QUOTA)),
    ("等外：拒收价", "below grade: reject price"),
    ("（不计配额）", " (not counted toward the quota)"),
    ("配额内", "within the quota"),
    ("超出配额", "beyond the quota"),
    ("无市场价", "no market price"),
    ("无保底价", "no floor price"),
    ("保底价", "floor"),
    ("市场价", "market"),
    ("人工定价", "priced by hand"),
    ("原因 / was:", "was:"),
    ("；", "; "),
    ("：", ": "),
    ("（", " ("),
    ("）", ")"),
)


def explain(text: str, lang: str) -> str:
    """A stored price explanation in the page's language."""
    if lang == "zh":
        return text
    for zh, en in _GLOSSARY:
        text = text.replace(zh, en)
    return text


def not_found(request: Request) -> HTMLResponse:
    """The one answer for anything that is not a live token's own page."""
    # "here" (the language switch's way back) would echo the URL asked for: not even that
    return _page(request, "passbook_notfound.html", {"here": "/p/"}, status=404)


class _PassbookRoute(APIRoute):
    """Any failure under /p is a plain page: never JSON, a traceback or someone's data."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()
        template = self.path  # logged instead of the URL, which holds the token

        async def handler(request: Request) -> Response:
            try:
                return await inner(request)
            except Exception:  # a validation error included: the farmer sees a page
                log.exception("passbook page %s failed", template)
                return _page(request, "passbook_error.html", {}, status=500)

        return handler


router = APIRouter(include_in_schema=False, route_class=_PassbookRoute)


def _key(session: Session, token: str) -> PassbookToken | None:
    return open_token(session=session, token=token)


def _tabs(token: str, active: str) -> dict[str, object]:
    return {"token": token, "tab": active, "base": f"/p/{token}"}


def _lot_page(
    request: Request,
    session: Session,
    settings: ServerSettings,
    token: str,
    key: PassbookToken,
    lot_id: uuid.UUID,
) -> HTMLResponse:
    view = queries.farmer_lot(
        session=session, farmer_id=key.farmer_id, lot_id=lot_id, photos_root=settings.photos_dir
    )
    if view is None:
        return not_found(request)
    lang = request_lang(request)
    est = estimate_for(session=session, lot=view.lot) if view.lot.status != "priced" else None
    reason = view.lot.unpriced_reason
    ctx: dict[str, object] = {
        **_tabs(token, "lot" if lot_id == key.lot_id else "lots"),
        "v": view,
        "opened": lot_id == key.lot_id,
        "estimate": est,
        "unpriced_reason": one_language(reason, lang) if reason else "",
        "explain": lambda text: explain(text, lang),
        "photo_url": f"/p/{token}/lots/{lot_id}/photo.jpg" if view.photo else None,
    }
    return _page(request, "passbook_lot.html", ctx)


@router.get("/p/{token}", response_model=None)
def passbook(token: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The lot of the receipt whose QR code carried this token."""
    key = _key(session, token)
    if key is None:
        return not_found(request)
    return _lot_page(request, session, settings, token, key, key.lot_id)


@router.get("/p/{token}/lots/{lot_id}", response_model=None)
def passbook_lot(
    token: str, lot_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """Another lot of the same farmer (from their season's list)."""
    key = _key(session, token)
    parsed = _uuid(lot_id)
    if key is None or parsed is None:
        return not_found(request)
    return _lot_page(request, session, settings, token, key, parsed)


@router.get("/p/{token}/lots/{lot_id}/photo.jpg", response_model=None)
def passbook_photo(
    token: str, lot_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """The lot's photo, for the lot's own farmer's token only."""
    key = _key(session, token)
    parsed = _uuid(lot_id)
    if key is None or parsed is None:
        return not_found(request)
    lot = session.get(queries.Lot, parsed)
    if lot is None or lot.farmer_id != key.farmer_id:
        return not_found(request)
    found = queries.lot_photo_file(session=session, lot=lot, root=settings.photos_dir)
    if found is None:
        return not_found(request)
    return FileResponse(found[1], media_type="image/jpeg", headers=_HEADERS)


@router.get("/p/{token}/lots", response_model=None)
def passbook_lots(
    token: str, request: Request, session: SessionDep, season: str | None = None
) -> Response:
    """The farmer's lots of a season (default: this one), newest first."""
    return _season_page(request, session, token, season, "lots", queries.season_lots)


@router.get("/p/{token}/payouts", response_model=None)
def passbook_payouts(
    token: str, request: Request, session: SessionDep, season: str | None = None
) -> Response:
    """The farmer's approved payouts of a season and what still waits to be paid."""
    return _season_page(request, session, token, season, "payouts", queries.season_payouts)


def _season_page(
    request: Request,
    session: Session,
    token: str,
    season: str | None,
    tab: str,
    read: Callable[..., object],
) -> Response:
    """A tab over one season of the token's farmer: ``read(session=, farmer_id=, season=)``
    shown by ``passbook_<tab>.html``, with links to the seasons before and after."""
    key = _key(session, token)
    if key is None:
        return not_found(request)
    current = queries.season_of(today_local())
    chosen = _season(season, current)
    ctx: dict[str, object] = {
        **_tabs(token, tab),
        "farmer": queries.farmer_of(session=session, farmer_id=key.farmer_id),
        "s": read(session=session, farmer_id=key.farmer_id, season=chosen),
        "previous": chosen.first.year - 1,
        "next": chosen.first.year + 1 if chosen.first < current.first else None,
    }
    return _page(request, f"passbook_{tab}.html", ctx)


@router.get("/p/{token}/{rest:path}", response_model=None)
def passbook_elsewhere(token: str, rest: str, request: Request) -> Response:
    """Anything else under /p: the same plain page."""
    return not_found(request)


@router.get("/p", response_model=None)
@router.get("/p/", response_model=None)
def passbook_root(request: Request) -> Response:
    return not_found(request)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _season(start_year: str | None, current: queries.Season) -> queries.Season:
    """The season starting in ``start_year`` (2000 up to this season), else this one."""
    if not start_year or not start_year.isascii() or not start_year.isdigit():
        return current
    year = int(start_year)
    if not 2000 <= year <= current.first.year:
        return current
    return queries.season_of(date(year, queries.SEASON_START_MONTH, 1))
