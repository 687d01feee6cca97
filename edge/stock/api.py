"""The rooms' stock on the operator API (mounted by :func:`edge.station.api.build_app`).

- ``GET  /api/stock``: stock per room, product and grade (grams, kg, lots) and the lots
  still waiting to be put away (minutes waiting, late after 1 h);
- ``GET  /api/stock/lots?room=``: where each lot's grams are; ``GET /api/stock/ledger``
  (``?room=`` / ``?lot_id=``): the ledger rows in order;
- ``POST /api/stock/put-away`` ``{"lot_id": "…", "room": "room1"}``;
- ``POST /api/stock/move`` ``{"lot_id": "…", "from_room": null, "to_room": "room2", "grams": 500}``;
- ``POST /api/stock/ship`` ``{"shipment": "SH-0001", "lot_id": "…", "room": null, "grams": 500}``;
- ``POST /api/stock/write-off`` ``{"lot_id": "…", "room": null, "grams": 200, "reason": "压伤"}``.

``room`` / ``from_room`` may be left out when the lot is in one room only. Grams are JSON
integers (``true``, ``"500"`` and ``500.0`` are refused, 422). Writes are guarded as the
other API routes (:mod:`edge.console.guard`: beyond loopback a signed-in operator, Origin
and CSRF); the operator recorded is the signed-in one, else the body's ``operator``, and a
write names one or is refused. Refused movements answer 409 (more than the lot holds, put
away twice…), an unknown lot or room 404, ``{"detail": "中文 / English"}``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints

from edge.console.auth import SESSION_COOKIE, Sessions, load_secret
from edge.errors import StockError, StockNotFoundError
from gongfang import wire

if TYPE_CHECKING:
    from edge.node_view import NodeView

Grams = Annotated[StrictInt, Field(gt=0, le=wire.MAX_GROSS_G)]
Name = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
LotId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
Operator = Annotated[StrictStr, StringConstraints(min_length=1, max_length=100)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operator: Operator | None = None


class PutAwayIn(_In):
    lot_id: LotId
    room: Name


class MoveIn(_In):
    lot_id: LotId
    from_room: Name | None = None
    to_room: Name
    grams: Grams


class ShipIn(_In):
    shipment: Name
    lot_id: LotId
    room: Name | None = None
    grams: Grams


class WriteOffIn(_In):
    lot_id: LotId
    room: Name | None = None
    grams: Grams
    reason: Annotated[
        StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]


class _NoOperator(StockError):
    pass


def install_stock(app: FastAPI, node: NodeView) -> None:
    """The stock routes and their error answers, on the operator API's app."""
    sessions = Sessions(load_secret(node.data_dir))

    def operator(request: Request, body: _In) -> str:
        signed = sessions.operator(request.cookies.get(SESSION_COOKIE))
        name = signed or body.operator
        if name is None:
            raise _NoOperator("请填写操作员 / name the operator")
        return name

    @app.exception_handler(StockError)
    async def _refused(request: Request, exc: StockError) -> JSONResponse:
        code = 404 if isinstance(exc, StockNotFoundError) else 409
        if isinstance(exc, _NoOperator):
            code = 422
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.get("/api/stock")
    def stock() -> dict[str, Any]:
        return node.stock.stock()

    @app.get("/api/stock/lots")
    def stock_lots(room: str | None = None) -> list[dict[str, Any]]:
        return node.stock.lots(room)

    @app.get("/api/stock/ledger")
    def ledger(room: str | None = None, lot_id: str | None = None) -> list[dict[str, Any]]:
        return [asdict(e) for e in node.store.ledger(room=room, lot_id=lot_id)]

    @app.post("/api/stock/put-away")
    def put_away(request: Request, body: PutAwayIn) -> dict[str, Any]:
        return node.stock.put_away(
            lot_id=body.lot_id, room=body.room, operator=operator(request, body)
        )

    @app.post("/api/stock/move")
    def move(request: Request, body: MoveIn) -> dict[str, Any]:
        return node.stock.move(
            lot_id=body.lot_id,
            from_room=body.from_room,
            to_room=body.to_room,
            grams=body.grams,
            operator=operator(request, body),
        )

    @app.post("/api/stock/ship")
    def ship(request: Request, body: ShipIn) -> dict[str, Any]:
        return node.stock.ship(
            shipment=body.shipment,
            lot_id=body.lot_id,
            room=body.room,
            grams=body.grams,
            operator=operator(request, body),
        )

    @app.post("/api/stock/write-off")
    def write_off(request: Request, body: WriteOffIn) -> dict[str, Any]:
        return node.stock.write_off(
            lot_id=body.lot_id,
            room=body.room,
            grams=body.grams,
            reason=body.reason,
            operator=operator(request, body),
        )
