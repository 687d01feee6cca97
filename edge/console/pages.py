"""The console's routes: sign-in, lanes (with their actions), today, cold rooms, link.

Every page needs a signed-in operator (even on loopback: the lot records who confirmed
it). Actions are form posts (htmx swaps the lane's panel; without htmx the whole page is
drawn again); a form error answers 422 with the message next to its field.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request, WebSocket, WebSocketDisconnect
from fastapi import Path as UrlPath
from fastapi.responses import RedirectResponse, Response
from starlette.responses import HTMLResponse

from edge.console import views
from edge.console.auth import SESSION_COOKIE, SESSION_MAX_AGE_S, Sessions, SignIn
from edge.console.photo import AnnotatedPhotos
from edge.errors import StoreError, StoreFullError, WorkflowError
from edge.outbox.schema import now_ms
from gongfang import wire
from gongfang.web.i18n import request_lang
from gongfang.web.routes import safe_next
from gongfang.web.templating import Pages

if TYPE_CHECKING:
    from edge.node_view import NodeView

log = logging.getLogger(__name__)

LIVE_EVERY_S = 0.25  # weights pushed 4 times a second
REASON_MAX = 500
DISCARDS_KEY = "console_discards"
DISCARDS_KEPT = 200
FormStr = Annotated[str, Form()]


class _SignInNeeded(Exception):
    pass


def build_router(node: NodeView, pages: Pages, sessions: Sessions, signin: SignIn) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    photos = AnnotatedPhotos()

    def operator(request: Request) -> str:
        op = sessions.operator(request.cookies.get(SESSION_COOKIE))
        if op is None:
            raise _SignInNeeded
        return op

    def page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
        full = {
            "operator": operator(request),
            "station": node.settings.station,
            "explain": lambda text: views.explain(text, request_lang(request)),
            **ctx,
        }
        try:
            return pages.render(request, name, full, status=status)
        except Exception:  # a page never shows a traceback (and the connection stays up)
            log.exception("控制台页面出错 / console page %s failed", name)
            return pages.error(request, 500)

    # ------------------------------------------------------------ sign-in

    @r.get("/")
    @r.get("/console")
    @r.get("/console/")
    def home() -> RedirectResponse:
        return RedirectResponse("/console/lanes", status_code=303)

    @r.get("/console/signin")
    def signin_page(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
        return _signin(request, safe_next(next, "/console/lanes"), None, None)

    def _signin(
        request: Request, target: str, name: str | None, error: str | None, status: int = 200
    ) -> HTMLResponse:
        return pages.render(
            request,
            "console_signin.html",
            {
                "names": signin.names(),
                "next": target,
                "name": name,
                "error": error,
                "station": node.settings.station,
                "operator": None,
            },
            status=status,
        )

    @r.post("/console/signin", response_model=None)
    def signin_post(
        request: Request,
        name: FormStr = "",
        pin: FormStr = "",
        next: FormStr = "",  # noqa: A002
    ) -> Response:
        target = safe_next(next, "/console/lanes")
        name = name.strip()[:100]
        if not name:
            return _signin(request, target, None, "signin.err_name", 422)
        if signin.locked(name):
            return _signin(request, target, name, "signin.err_locked", 429)
        if not signin.check(name, pin):
            log.warning("PIN 登录失败 / console sign-in refused for %r", name)
            return _signin(request, target, name, "signin.err_pin", 422)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            sessions.make(name),
            max_age=SESSION_MAX_AGE_S,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        log.info("操作员登录 / operator %s signed in on the console", name)
        return response

    @r.post("/console/signout")
    def signout() -> RedirectResponse:
        response = RedirectResponse("/console/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # ------------------------------------------------------------ lanes

    def lane_panel(
        request: Request, lane: str, errors: dict[str, str] | None = None, **extra: Any
    ) -> HTMLResponse:
        status = 422 if errors else 200
        ctx: dict[str, Any] = {"errors": errors or {}, "grades": views.GRADES, "form": extra}
        if request.headers.get("hx-request"):
            try:
                ctx["lane"] = views.lane_view(node, lane)
            except KeyError:
                return pages.error(request, 404)
            return page(request, "console_lane_panel.html", ctx, status)
        ctx.update(lanes=views.lanes_view(node), error_lane=lane)
        return page(request, "console_lanes.html", ctx, status)

    @r.get("/console/lanes")
    def lanes(request: Request) -> HTMLResponse:
        operator(request)
        return page(
            request,
            "console_lanes.html",
            {"lanes": views.lanes_view(node), "grades": views.GRADES, "errors": {}, "form": {}},
        )

    @r.get("/console/lanes/{lane}/panel")
    def panel(request: Request, lane: str) -> HTMLResponse:
        operator(request)
        return lane_panel(request, lane)

    @r.get("/console/lanes/{lane}/farmers")
    def farmer_search(request: Request, lane: str, farmer: str = "") -> HTMLResponse:
        operator(request)
        q = farmer.strip()[:64]
        return page(
            request,
            "console_farmer_results.html",
            {"lane_id": lane, "q": q, "found": node.directory.search(q) if q else []},
        )

    @r.post("/console/lanes/{lane}/farmer")
    def pick_farmer(request: Request, lane: str, farmer: FormStr = "") -> HTMLResponse:
        op = operator(request)
        if not farmer.strip():
            return lane_panel(request, lane, {"farmer": "lane.err_farmer"})
        try:
            node.station.select_farmer(lane, farmer[:64], operator=op)
        except WorkflowError:
            return lane_panel(request, lane, {"farmer": "lane.err_farmer"})
        return lane_panel(request, lane)

    @r.post("/console/lanes/{lane}/confirm")
    def confirm(request: Request, lane: str, lot_id: FormStr = "") -> HTMLResponse:
        op = operator(request)
        try:
            node.station.confirm(lane, operator=op, lot_id=lot_id or None)
        except StoreError as exc:
            return lane_panel(request, lane, {"action": _store_key(exc)})
        except WorkflowError as exc:
            return lane_panel(request, lane, {"action": _workflow_key(exc)})
        return lane_panel(request, lane, flash="lane.confirmed")

    @r.post("/console/lanes/{lane}/override")
    def override(
        request: Request, lane: str, lot_id: FormStr = "", grade: FormStr = "", reason: FormStr = ""
    ) -> HTMLResponse:
        op = operator(request)
        errors: dict[str, str] = {}
        if grade not in views.GRADES:
            errors["grade"] = "lane.err_grade"
        if not reason.strip():
            errors["reason"] = "lane.err_reason"
        elif len(reason) > REASON_MAX:
            errors["reason"] = "lane.err_reason_long"
        if errors:
            return lane_panel(request, lane, errors, grade=grade, reason=reason[:REASON_MAX])
        try:
            node.station.override(
                lane,
                grade=wire.Grade(grade),
                reason=reason.strip(),
                operator=op,
                lot_id=lot_id or None,
            )
        except StoreError as exc:
            return lane_panel(request, lane, {"action": _store_key(exc)})
        except WorkflowError as exc:
            return lane_panel(request, lane, {"action": _workflow_key(exc)})
        return lane_panel(request, lane, flash="lane.overridden")

    @r.post("/console/lanes/{lane}/discard")
    def discard(
        request: Request, lane: str, lot_id: FormStr = "", discard_reason: FormStr = ""
    ) -> HTMLResponse:
        op = operator(request)
        reason = discard_reason.strip()
        if not reason or len(reason) > REASON_MAX:
            key = "lane.err_reason" if not reason else "lane.err_reason_long"
            return lane_panel(request, lane, {"discard_reason": key}, show_discard=True)
        try:
            dropped = node.station.discard(lane, lot_id=lot_id or None)
        except StoreError as exc:
            return lane_panel(request, lane, {"action": _store_key(exc)})
        except WorkflowError as exc:
            return lane_panel(request, lane, {"action": _workflow_key(exc)})
        _note_discard(node, dropped, lane, op, reason)
        return lane_panel(request, lane, flash="lane.discarded")

    @r.post("/console/lots/{lot_id}/reprint")
    def reprint(request: Request, lot_id: str, back: FormStr = "") -> Response:
        operator(request)
        ok = node.reprint_receipt(lot_id)
        if request.headers.get("hx-request"):
            return page(request, "console_reprinted.html", {"ok": ok, "lot_id": lot_id})
        return RedirectResponse(safe_next(back, "/console/today"), status_code=303)

    @r.get("/console/lanes/{lane}/pending/{lot_id}/photo.jpg")
    def pending_photo(request: Request, lane: str, lot_id: str) -> Response:
        operator(request)
        try:
            p = node.station.pending_lot(lane, lot_id)
        except WorkflowError:
            p = None
        g = p.grading if p is not None else None
        if g is None or node.photos is None:
            return pages.error(request, 404)
        product = node.station.products[lane].value
        return _jpeg(request, photos.jpeg(node.photos.path(g.frame_sha256), product, g.items))

    @r.get("/console/lots/{lot_id}/photo.jpg")
    def lot_photo(request: Request, lot_id: str) -> Response:
        operator(request)
        stored = node.store.get_lot(lot_id)
        if stored is None or node.photos is None or not stored.record.image_hashes:
            return pages.error(request, 404)
        lot = stored.record
        path = node.photos.path(lot.image_hashes[0])
        return _jpeg(request, photos.jpeg(path, lot.product.value, list(lot.items)))

    def _jpeg(request: Request, data: bytes | None) -> Response:
        if data is None:
            return pages.error(request, 404)
        return Response(data, media_type="image/jpeg", headers={"cache-control": "no-store"})

    # ------------------------------------------------------------ today, rooms, link

    @r.get("/console/today")
    def today(request: Request, farmer: str = "") -> HTMLResponse:
        operator(request)
        return page(request, "console_today.html", {"v": views.today_view(node, farmer[:64])})

    @r.get("/console/rooms")
    def rooms(request: Request) -> HTMLResponse:
        operator(request)
        return page(request, "console_rooms.html", {"rooms": views.rooms_view(node)})

    @r.post("/console/alarms/{alarm_id}/ack")
    def ack(request: Request, alarm_id: str) -> Response:
        op = operator(request)
        if node.ack_alarm(alarm_id[:64], op) is None:
            return pages.error(request, 404)
        return RedirectResponse("/console/rooms", status_code=303)

    @r.get("/console/link")
    def link(request: Request) -> HTMLResponse:
        operator(request)
        return page(request, "console_link.html", {"v": views.link_view(node)})

    @r.post("/console/parked/{seq}/retry")
    def retry(request: Request, seq: Annotated[int, UrlPath(ge=1, le=wire.MAX_ROW_ID)]) -> Response:
        operator(request)
        if not node.store.unpark(seq):
            return pages.error(request, 404)
        node.wake_sync()
        return RedirectResponse("/console/link", status_code=303)

    # ------------------------------------------------------------ live weights

    @r.websocket("/ws/lanes")
    async def live(ws: WebSocket) -> None:
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            last = ""
            while True:
                doc = json.dumps(await asyncio.to_thread(views.live_doc, node), default=str)
                if doc != last:
                    await ws.send_text(doc)
                    last = doc
                await asyncio.sleep(LIVE_EVERY_S)

    return r


def _workflow_key(exc: WorkflowError) -> str:
    text = str(exc)
    if "pick the farmer" in text:
        return "lane.err_no_farmer"
    if "no model grade" in text or "no grade yet" in text:
        return "lane.err_no_grade"
    return "lane.err_no_pending"


def _store_key(exc: StoreError) -> str:
    """The message for a failed write: a full disk is told apart (the operator can act)."""
    return "lane.err_store_full" if isinstance(exc, StoreFullError) else "lane.err_store"


def _note_discard(node: NodeView, lot_id: str, lane: str, op: str, reason: str) -> None:
    """Who dropped which weighing and why: logged, and the last few kept on the box."""
    log.info(
        "待确认批次已作废 / pending lot %s on %s discarded by %s: %s", lot_id, lane, op, reason
    )
    try:
        kept = node.store.get(DISCARDS_KEY) or []
        kept.append(
            {"lot_id": lot_id, "lane": lane, "operator": op, "reason": reason, "ts_ms": now_ms()}
        )
        node.store.put(DISCARDS_KEY, kept[-DISCARDS_KEPT:])
    except StoreError:
        log.exception("作废记录未保存 / discard note not kept")


TEMPLATES = Path(__file__).with_name("templates")
