"""Routes every app with pages gets: static files, the language switch, offline API docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from gongfang.web.i18n import LANG_COOKIE, LANGS

STATIC = Path(__file__).with_name("static")
STATIC_URL = "/static/gf"
VENDOR_URL = f"{STATIC_URL}/vendor"
LANG_COOKIE_DAYS = 365
# The docs pages' libraries would fetch a few decorations (ReDoc's logo) from their CDN: the
# policy keeps every request on this host, so the pages work the same with no internet.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; font-src 'self' data:"
)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to; anything that could leave the site becomes ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def mount_web(app: FastAPI, *, docs: bool = True) -> None:
    """Serve the kernel's static files and the language switch; ``/docs`` and ``/redoc``
    from the vendored Swagger UI and ReDoc when the app has an OpenAPI document."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="gf_static")

    @app.get("/lang/{code}", include_in_schema=False)
    def switch_lang(code: str, request: Request, next: str | None = None) -> RedirectResponse:  # noqa: A002
        response = RedirectResponse(safe_next(next), status_code=303)
        if code in LANGS:
            response.set_cookie(
                LANG_COOKIE, code, max_age=LANG_COOKIE_DAYS * 86400, samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response

    if not docs or app.openapi_url is None:
        return
    openapi_url = app.openapi_url

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            swagger_js_url=f"{VENDOR_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR_URL}/swagger-ui.css",
            swagger_favicon_url=f"{VENDOR_URL}/swagger-favicon-32x32.png",
        )
        page.headers["content-security-policy"] = DOCS_CSP
        return page

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            redoc_js_url=f"{VENDOR_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{VENDOR_URL}/swagger-favicon-32x32.png",
            with_google_fonts=False,
        )
        page.headers["content-security-policy"] = DOCS_CSP
        return page
