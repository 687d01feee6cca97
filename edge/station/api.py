"""The local operator API (FastAPI): status over HTTP and WebSocket, and operator actions.

The web console (a later issue) is built on these routes:

- ``GET  /api/status``: weights per scale, lots in progress, outbox depth, parked count,
  last successful sync, room temperatures, active alarms, bad-payload counters;
- ``WS   /ws/status``: the same document pushed every second;
- ``POST /api/lanes/{lane}/farmer`` ``{"farmer": "F001", "operator": "王芳"}``;
- ``POST /api/lanes/{lane}/confirm`` ``{"operator": "王芳", "lot_id": null}``;
- ``POST /api/lanes/{lane}/override`` ``{"grade": "class_ii", "reason": "…", "operator": "…"}``;
- ``POST /api/lanes/{lane}/discard`` ``{"lot_id": null}``;
- ``GET  /api/lots``, ``GET /api/lots/{id}``, ``GET /api/lots/{id}/receipt.png|.pdf``,
  ``GET /api/lots/{id}/photo.jpg`` (the graded camera frame, while kept),
  ``GET /api/lots/{id}/stay``, ``POST /api/lots/{id}/dispatch`` (the lot leaves its room:
  its stay report is fixed and queued for the server);
- ``/api/stock…``: the rooms' stock, put-away, moves, shipments, write-offs
  (:mod:`edge.stock.api`);
- ``GET  /api/parked``: what the server refused, for a person to look at;
  ``POST /api/parked/{seq}/retry`` sends one again once its cause is fixed.

Errors answer ``{"detail": "中文 / English"}`` with 404 (unknown lane or lot), 409 (the
action does not fit the lane's state), 422 (bad fields; never echoing what was posted),
413 (body too large), 401 (bound beyond loopback and not signed in: see
:mod:`edge.console.guard`), 403 (another Origin) or 503 (the local database could not be
written; the lot stays pending). The station console's pages live under ``/console``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Path, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from edge.errors import NoPendingLotError, StoreError, UnknownLaneError, WorkflowError
from gongfang import wire

if TYPE_CHECKING:
    from edge.node_view import NodeView


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FarmerIn(_In):
    farmer: str = Field(min_length=1, max_length=64)
    operator: str | None = Field(default=None, max_length=100)


class ConfirmIn(_In):
    operator: str | None = Field(default=None, max_length=100)
    lot_id: str | None = None


class OverrideIn(_In):
    grade: wire.Grade
    reason: str = Field(min_length=1, max_length=500)
    operator: str = Field(min_length=1, max_length=100)
    lot_id: str | None = None


class DiscardIn(_In):
    lot_id: str | None = None


def build_app(node: NodeView) -> FastAPI:
    app = FastAPI(title="gongfang edge", docs_url=None, redoc_url=None, openapi_url=None)
    station = node.station

    @app.exception_handler(WorkflowError)
    async def _workflow_error(request: Request, exc: WorkflowError) -> JSONResponse:
        code = 404 if isinstance(exc, UnknownLaneError) else 409
        if isinstance(exc, NoPendingLotError):
            code = 409
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
        # The lot stays pending on its lane: the operator can confirm again.
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        return node.status()

    @app.post("/api/lanes/{lane}/farmer")
    def select_farmer(lane: str, body: FarmerIn) -> dict[str, Any]:
        f = station.select_farmer(lane, body.farmer, operator=body.operator)
        return {"lane": lane, "farmer": {"id": f.id, "name": f.name, "verified": f.verified}}

    @app.post("/api/lanes/{lane}/confirm")
    def confirm(lane: str, body: ConfirmIn) -> dict[str, Any]:
        lot = station.confirm(lane, operator=body.operator, lot_id=body.lot_id)
        return lot.model_dump(mode="json")

    @app.post("/api/lanes/{lane}/override")
    def override(lane: str, body: OverrideIn) -> dict[str, Any]:
        lot = station.override(
            lane, grade=body.grade, reason=body.reason, operator=body.operator, lot_id=body.lot_id
        )
        return lot.model_dump(mode="json")

    @app.post("/api/lanes/{lane}/discard")
    def discard(lane: str, body: DiscardIn) -> dict[str, Any]:
        return {"discarded": station.discard(lane, lot_id=body.lot_id)}

    @app.get("/api/lots")
    def lots(limit: int = 50) -> list[dict[str, Any]]:
        return [
            {**s.record.model_dump(mode="json"), "lane": s.lane, "receipt_done": s.receipt_done}
            for s in node.store.recent_lots(max(1, min(limit, 500)))
        ]

    def _lot_or_404(lot_id: str) -> Any:
        stored = node.store.get_lot(lot_id)
        if stored is None:
            raise _NotFound(lot_id)
        return stored

    @app.exception_handler(LookupError)
    async def _not_found(request: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse({"detail": f"未找到 / not found: {exc}"}, status_code=404)

    @app.get("/api/lots/{lot_id}")
    def lot(lot_id: str) -> dict[str, Any]:
        s = _lot_or_404(lot_id)
        return {**s.record.model_dump(mode="json"), "lane": s.lane, "receipt_done": s.receipt_done}

    @app.get("/api/lots/{lot_id}/receipt.{ext}")
    def receipt(lot_id: str, ext: str) -> FileResponse:
        s = _lot_or_404(lot_id)
        png, pdf = node.receipt_paths(s.record)
        path = {"png": png, "pdf": pdf}.get(ext)
        if path is None or not path.exists():
            raise _NotFound(f"receipt {lot_id}.{ext}")
        return FileResponse(path)

    @app.get("/api/lots/{lot_id}/photo.jpg")
    def photo(lot_id: str) -> FileResponse:
        s = _lot_or_404(lot_id)
        kept = [] if node.photos is None else map(node.photos.path, s.record.image_hashes)
        for path in kept:
            if path.exists():
                return FileResponse(path, media_type="image/jpeg")
        raise _NotFound(f"photo of {lot_id} (not kept, or pruned)")

    @app.get("/api/lots/{lot_id}/stay")
    def stay(lot_id: str) -> dict[str, Any]:
        _lot_or_404(lot_id)
        report = node.lot_stay(lot_id)
        if report is None:
            raise _NotFound(f"stay of {lot_id}")
        return report

    @app.post("/api/lots/{lot_id}/dispatch")
    def dispatch(lot_id: str) -> dict[str, Any]:
        _lot_or_404(lot_id)
        report = node.dispatch_lot(lot_id)
        if report is None:
            raise _NotFound(f"open stay of {lot_id}")
        return report

    @app.get("/api/parked")
    def parked() -> list[dict[str, Any]]:
        return node.store.parked()

    @app.post("/api/parked/{seq}/retry")
    def retry_parked(seq: Annotated[int, Path(ge=1, le=wire.MAX_ROW_ID)]) -> dict[str, Any]:
        if not node.store.unpark(seq):
            raise _NotFound(f"parked item {seq}")
        node.wake_sync()
        return {"requeued": seq}

    @app.websocket("/ws/status")
    async def ws_status(ws: WebSocket) -> None:
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                doc = await asyncio.to_thread(node.status)
                await ws.send_text(json.dumps(doc, ensure_ascii=False, default=str))
                await asyncio.sleep(1.0)

    from edge.console.mount import install_console
    from edge.stock.api import install_stock

    install_stock(app, node)

    install_console(app, node)  # the pages, and the guards in front of all these routes
    return app


class _NotFound(LookupError):
    pass
