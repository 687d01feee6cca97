"""Guards for pages: Origin on writes and WebSockets, CSRF (double-submit cookie) on writes.

CSRF is the ``asgi-csrf`` package's: a signed ``csrftoken`` cookie that a form repeats in a
hidden ``csrftoken`` field, or htmx/fetch in the ``x-csrftoken`` header. Requests with no
cookie at all (a station's API key, a bearer token) carry no ambient authority and pass, as
that package decides. Origin: a browser names the page's origin on every write and WebSocket
handshake; a different host than the one addressed is refused before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from asgi_csrf import asgi_csrf  # type: ignore[import-untyped]
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_REFUSED = (
    "<!doctype html><meta charset=utf-8><title>403</title>"
    "<p>{zh}</p><p>{en}</p><p><a href=\"javascript:history.back()\">返回 Back</a></p>"
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def same_origin(scope: Scope) -> bool:
    """True when the request names no Origin, or one whose host:port is the Host addressed."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    host = _header(scope, b"host")
    if not host or origin == "null":
        return False
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc.lower() == host.lower()


async def _refuse(send: Send, zh: str, en: str) -> None:
    body = _REFUSED.format(zh=zh, en=en).encode()
    await send({
        "type": "http.response.start",
        "status": 403,
        "headers": [(b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


async def _csrf_failed(scope: Scope, send: Send, message_id: object) -> None:
    await _refuse(send, "页面已过期，请返回刷新后再提交。",
                  "This page has expired: go back, reload it and submit again.")


class PageGuard:
    """ASGI middleware: Origin check on writes and WebSockets, then CSRF on writes.

    ``exempt`` path prefixes skip CSRF (machine endpoints authenticated by header), never
    the Origin check.
    """

    def __init__(
        self, app: ASGIApp, *, secret: str, exempt: Iterable[str] = (), secure_cookie: bool = False
    ) -> None:
        self.app = app
        self.exempt = tuple(exempt)
        self.csrf = asgi_csrf(
            app,
            signing_secret=secret,
            cookie_secure=secure_cookie,
            skip_if_scope=lambda s: s["path"].startswith(self.exempt) if self.exempt else False,
            send_csrf_failed=_csrf_failed,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            if not same_origin(scope):
                await send({"type": "websocket.close", "code": 4403})
                return
            await self.app(scope, receive, send)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS and not same_origin(scope):
            await _refuse(send, "请求来源不被允许。", "Requests from this origin are not allowed.")
            return
        await self.csrf(scope, receive, send)
