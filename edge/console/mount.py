"""Puts the console and its guards on the edge's FastAPI app (see :mod:`edge.station.api`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from edge.console.auth import Sessions, SignIn, load_secret
from edge.console.guard import EdgeGate, install_validation_handler
from edge.console.pages import TEMPLATES, _SignInNeeded, build_router
from gongfang.netaddr import is_loopback
from gongfang.web.i18n import Messages
from gongfang.web.routes import mount_web
from gongfang.web.security import PageGuard
from gongfang.web.templating import Pages

if TYPE_CHECKING:
    from edge.node_view import NodeView

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC_URL = "/static/console"


def install_console(app: FastAPI, node: NodeView) -> None:
    """Console pages, static files, and (outermost first) the gate and the page guard."""
    secret = load_secret(node.data_dir)
    sessions = Sessions(secret)
    pages = Pages([TEMPLATES], Messages.load(HERE / "locale"))
    app.include_router(build_router(node, pages, sessions, SignIn(node.store)))
    mount_web(app, docs=False)
    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="console_static")
    install_validation_handler(app)

    @app.exception_handler(_SignInNeeded)
    async def _sign_in(request: Request, exc: _SignInNeeded) -> Response:
        target = request.url.path if request.method == "GET" else "/console/lanes"
        url = f"/console/signin?next={target}"
        if request.headers.get("hx-request"):  # htmx: leave the partial, load the page
            return Response(status_code=204, headers={"hx-redirect": url})
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # the console's own pages answer in the operator's language; the API keeps JSON
        if request.url.path.startswith("/console") and exc.status_code in (404, 405):
            return pages.error(request, 404)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _crashed(request: Request, exc: Exception) -> Response:
        # Logged with its traceback here; the operator sees a plain page, never the trace.
        log.error("控制台出错 / console request %s failed", request.url.path, exc_info=exc)
        if request.url.path.startswith("/console"):
            return pages.error(request, 500)
        return JSONResponse({"detail": "内部错误 / internal error"}, status_code=500)

    # Added last = runs first: the gate (size, signed operator), then Origin and CSRF.
    app.add_middleware(PageGuard, secret=secret, secure_cookie=False)
    app.add_middleware(
        EdgeGate, sessions=sessions, open_access=is_loopback(node.settings.http_host)
    )
