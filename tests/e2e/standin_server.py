"""A STAND-IN for the central server's sync contract (NOT the real server).

Contract-faithful for what the edge relies on: ``POST /api/v1/sync`` with ``X-Api-Key``
taking a :class:`gongfang.wire.SyncBatch` and answering a :class:`gongfang.wire.SyncAck`
(idempotent by lot id: same content → duplicate, other content → conflict; unknown farmer
→ invalid), and ``GET /api/v1/station/directory``. Tests can make it answer 5xx/401 or
reject a batch with 422, and start/stop it on a fixed port (the server "down for hours").
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from gongfang import wire
from gongfang.embedded_broker import free_port

MALFORMED_FARMER = "MALFORMED"  # a lot with this farmer makes the whole batch a 422


@dataclass
class StandinState:
    api_key: str
    station: str
    farmers: set[str]
    directory: wire.StationDirectory | None = None
    lots: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    climate: int = 0
    fail_with: list[int] = field(default_factory=list)  # next answers to force
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def create_app(state: StandinState) -> FastAPI:
    app = FastAPI()

    def _auth(key: str | None) -> JSONResponse | None:
        if key != state.api_key:
            return JSONResponse({"detail": "bad key"}, status_code=401)
        return None

    @app.post("/api/v1/sync")
    async def sync(request: Request, x_api_key: str | None = Header(default=None)) -> Any:
        with state.lock:
            state.requests += 1
            if state.fail_with:
                return JSONResponse({"detail": "forced"}, status_code=state.fail_with.pop(0))
        if (denied := _auth(x_api_key)) is not None:
            return denied
        try:
            batch = wire.SyncBatch.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"detail": str(exc)[:500]}, status_code=422)
        if any(lot.farmer == MALFORMED_FARMER for lot in batch.lots):
            return JSONResponse({"detail": "malformed lot"}, status_code=422)
        acks: list[wire.ItemAck] = []
        with state.lock:
            # Server order: captured_at, then id (DESIGN.md pricing rule).
            for lot in sorted(batch.lots, key=lambda x: (x.captured_at, str(x.id))):
                key = str(lot.id)
                h = lot.content_hash()
                if lot.farmer not in state.farmers:
                    acks.append(
                        wire.ItemAck(
                            id=key, result=wire.ItemResult.INVALID, message="unknown farmer"
                        )
                    )
                elif key not in state.lots:
                    state.lots[key] = (h, lot.model_dump(mode="json"))
                    acks.append(wire.ItemAck(id=key, result=wire.ItemResult.ACCEPTED))
                elif state.lots[key][0] == h:
                    acks.append(wire.ItemAck(id=key, result=wire.ItemResult.DUPLICATE))
                else:
                    acks.append(
                        wire.ItemAck(
                            id=key,
                            result=wire.ItemResult.CONFLICT,
                            message="same id, other content",
                        )
                    )
            alarm_acks = []
            for alarm in batch.alarms:
                state.alarms[str(alarm.id)] = alarm.model_dump(mode="json")
                alarm_acks.append(wire.ItemAck(id=str(alarm.id), result=wire.ItemResult.ACCEPTED))
            state.climate += len(batch.climate)
        return wire.SyncAck(
            lots=acks, alarms=alarm_acks, climate_stored=len(batch.climate)
        ).model_dump(mode="json")

    @app.get("/api/v1/station/directory")
    def directory(x_api_key: str | None = Header(default=None)) -> Any:
        if (denied := _auth(x_api_key)) is not None:
            return denied
        d = state.directory or wire.StationDirectory(station=state.station, cooperative="coop")
        return d.model_dump(mode="json")

    return app


class StandinServer:
    """The stand-in on a fixed loopback port, in a thread; stop() and start() again."""

    def __init__(self, state: StandinState, port: int | None = None) -> None:
        self.state = state
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandinServer:
        config = uvicorn.Config(
            create_app(self.state),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(10)
            self._server = None
