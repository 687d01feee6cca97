"""Errors on page paths become pages: sign-in redirects, 403/404/500 pages, never JSON or a
traceback. ``install_page_errors(app)`` wraps the app's JSON handlers for page paths only."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gongfang.web.i18n import request_lang
from server.core.errors import DomainError, NotAuthenticated
from server.web.pages import one_language as one_language  # re-exported for other page modules
from server.web.pages import render

log = logging.getLogger(__name__)

# Paths whose errors are rendered as cooperative pages (others keep their JSON answers).
PAGE_PREFIXES: list[str] = ["/coop"]

Handler = Callable[[Request, Exception], Awaitable[Response] | Response]

_TITLES = {
    400: "error.bad_request",
    403: "error.forbidden",
    404: "error.not_found",
    409: "error.conflict",
    422: "error.invalid",
    413: "error.too_large",
}
_BODIES = {403: "error.forbidden_body", 404: "error.not_found_body", 500: "error.server"}


def is_page(request: Request) -> bool:
    path = request.url.path
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def _sentence(text: str) -> str:
    """English halves start lower-case ("unknown payout run 7"): a page shows a sentence."""
    return text[:1].upper() + text[1:]


def _user(request: Request) -> object:
    return getattr(request.state, "user", None)


def error_page(request: Request, status: int, message: str) -> Response:
    if request.headers.get("hx-request") == "true" and status == 401:
        return Response(status_code=204, headers={"HX-Redirect": "/coop/login"})
    ctx = {
        "title_key": _TITLES.get(status, "error.title"),
        "message": _sentence(one_language(message, request_lang(request))) if message else "",
        "body_key": _BODIES.get(status, ""),
        "user": _user(request),
        "nav": "",
        "back": None,
    }
    return render(request, "coop_error.html", ctx, status=status)


def install_page_errors(app: FastAPI) -> None:
    """Wrap the JSON handlers: page paths get pages, the API keeps its JSON."""
    from server.web.session import login_url

    def wrap(exc_type: type[Exception] | int, page: Handler) -> None:
        json_handler = app.exception_handlers.get(exc_type)

        async def handler(request: Request, exc: Exception) -> Response:
            if is_page(request) or json_handler is None:
                result = page(request, exc)
                return await result if isinstance(result, Awaitable) else result
            result = json_handler(request, exc)
            return await result if isinstance(result, Awaitable) else result

        app.add_exception_handler(exc_type, handler)

    def domain(request: Request, exc: Exception) -> Response:
        if isinstance(exc, NotAuthenticated):
            if request.headers.get("hx-request") == "true":
                return Response(status_code=204, headers={"HX-Redirect": login_url(request)})
            return RedirectResponse(login_url(request), status_code=303)
        if not isinstance(exc, DomainError):
            return error_page(request, 500, "")
        return error_page(request, exc.status_code, exc.message)

    def http(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        return error_page(request, status, "")

    def invalid(request: Request, _exc: Exception) -> Response:
        # A malformed path or query on a page (e.g. /coop/runs/abc) is a page that is not there.
        return error_page(request, 404, "")

    def unexpected(request: Request, _exc: Exception) -> Response:
        log.exception("unexpected error on page %s", request.url.path)
        return error_page(request, 500, "")

    wrap(DomainError, domain)
    wrap(StarletteHTTPException, http)
    wrap(RequestValidationError, invalid)
    wrap(Exception, unexpected)
