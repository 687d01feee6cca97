"""The FastAPI application: ``create_app(settings)``.

One handler maps :mod:`server.core.errors` to HTTP; request validation errors become 422
with a readable message; anything unexpected is logged and answered 500 without details.
Bodies larger than ``settings.max_body_bytes`` get 413 before they are read.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gongfang.settings import ConfigError, ServerSettings
from gongfang.web.bodylimit import BodyLimit
from gongfang.web.routes import mount_web
from gongfang.web.security import PageGuard
from server.aggregates import views as aggregates_views
from server.audit import views as audit_views
from server.auth import views as auth_views
from server.auth.throttle import SignInThrottle
from server.coldchain import views as coldchain_views
from server.contracts import views as contracts_views
from server.core.db import make_engine, session_factory, upgrade
from server.core.errors import DomainError, TooManyAttempts
from server.core.metrics import HTTP_REQUESTS, HTTP_SECONDS, REGISTRY
from server.core.openapi import document_errors
from server.farmers import views as farmers_views
from server.farmers.sealed import FieldCipher, FieldKeyError, check_readable
from server.lots import views as lots_views
from server.orders import views as orders_views
from server.passbook import views as passbook_views
from server.payouts import views as payouts_views
from server.photos import views as photos_views
from server.pricing import views as pricing_views
from server.stations import views as stations_views
from server.stations.service import StationKeyCache
from server.web import mount_pages

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


def _too_large_body(message: str) -> bytes:
    return bytes(_error(413, "payload_too_large", message).body)


def _validation_message(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    clean = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        clean.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    first = clean[0] if clean else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"]) or "body"
    more = f"（另有 {len(clean) - 1} 处 / +{len(clean) - 1} more）" if len(clean) > 1 else ""
    return f"请求格式错误 / invalid request: {where}: {first['msg']}{more}", clean[:50]


class Metrics:
    """Count requests and time them per route (plain ASGI: no extra task per request,
    unlike Starlette's ``BaseHTTPMiddleware``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The router records the matched route in the (shared) scope.
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
            HTTP_SECONDS.labels(path).observe(time.perf_counter() - start)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from env/TOML; migrates unless told not to)."""
    settings = settings or ServerSettings.load()
    field_keys = settings.field_keys()
    if settings.auto_migrate:
        upgrade(settings.database_url, field_keys=field_keys)
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        # On shutdown (SIGTERM to uvicorn) close the pool, so PostgreSQL sees clean logouts
        # rather than dropped connections.
        engine.dispose()

    app = FastAPI(
        title="gongfang 共富工坊 central server",
        version="0.1.0",
        description="Lots, contracts, guaranteed-price payouts, daily aggregates, cold chain.",
        lifespan=_lifespan,
        docs_url=None,  # served offline by mount_web from the vendored Swagger UI / ReDoc
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.field_cipher = FieldCipher(field_keys)
    try:  # a wrong field key stops the start, rather than the first bank export
        with app.state.sessions() as session:
            check_readable(session=session, cipher=app.state.field_cipher)
    except FieldKeyError as exc:
        engine.dispose()
        raise ConfigError(exc.message) from None
    app.state.station_keys = StationKeyCache()
    app.state.sign_in = SignInThrottle(storage_uri=settings.sign_in_rate_storage)

    @app.exception_handler(DomainError)
    async def _domain(_req: Request, exc: DomainError) -> JSONResponse:
        response = _error(exc.status_code, exc.code, exc.message, exc.detail)
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {
            400: "请求无效 / bad request",
            404: "没有这个地址 / no such endpoint",
            405: "不支持该方法 / method not allowed",
        }
        message = messages.get(exc.status_code, str(exc.detail))
        if exc.status_code == 400 and exc.detail:
            message = f"{message}: {exc.detail}"
        response = _error(exc.status_code, "http_error", message)
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        message, detail = _validation_message(list(exc.errors()))
        return _error(422, "invalid", message, detail)

    @app.exception_handler(IntegrityError)
    async def _integrity(_req: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error: %s", exc.orig)
        return _error(409, "conflict", "与已有数据冲突 / conflicts with stored data")

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(500, "internal", "服务器内部错误 / internal server error")

    # Outermost last: the body limit runs first, then Origin/CSRF, then metrics.
    app.add_middleware(Metrics)
    app.add_middleware(PageGuard, secret=settings.secret_key)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, render=_too_large_body)
    mount_web(app)

    for module in (
        auth_views,
        stations_views,
        farmers_views,
        contracts_views,
        pricing_views,
        lots_views,
        payouts_views,
        aggregates_views,
        coldchain_views,
        audit_views,
        photos_views,
        passbook_views,
        orders_views,
    ):
        app.include_router(module.router)
    mount_pages(app)  # the cooperative pages; page paths get HTML errors, the API keeps JSON

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    document_errors(app)
    return app


def freeze_startup_objects() -> None:
    """Exempt everything alive after start-up from the cyclic garbage collector.

    A server process holds hundreds of thousands of long-lived objects (modules, models,
    schemas, the app); each full collection walked them all, about a sixth of the CPU an
    ingestion batch took. Only for server processes: frozen objects are never collected.
    """
    gc.collect()
    gc.freeze()


def serve_app() -> FastAPI:
    """The app for a server process: ``uvicorn --factory server.main:serve_app``."""
    app = create_app()
    freeze_startup_objects()
    return app
