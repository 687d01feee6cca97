"""What stands in front of the console and the operator API.

- Request bodies are size-limited (413), declared or streamed.
- Bound beyond loopback, every route but the sign-in page and static files needs the
  signed operator cookie: the API and WebSockets answer 401, pages send to the sign-in.
  On loopback (127.0.0.0/8, ::1, ``localhost``) they stay open, as the tests, the demo and
  a kiosk browser on the box itself use them; the console's pages still ask for a PIN so
  a lot records who confirmed it.
- Origin on writes and WebSockets, and CSRF on cookie-bearing writes: the kernel's
  :class:`gongfang.web.security.PageGuard`.
- A validation error never echoes what was posted (FastAPI's 422 lists each ``input``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from edge.console.auth import SESSION_COOKIE, Sessions
from gongfang.web.bodylimit import BodyLimit

MAX_BODY_BYTES = 64 * 1024  # the console's forms and the API's JSON are a few hundred bytes
PUBLIC_PREFIXES = ("/console/signin", "/static/", "/lang/", "/favicon.ico")


def _json(status: int, detail: str) -> tuple[dict[str, Any], bytes]:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    return start, body


async def _answer(send: Send, status: int, detail: str) -> None:
    start, body = _json(status, detail)
    await send(start)
    await send({"type": "http.response.body", "body": body})


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in bytes(value).decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


class EdgeGate:
    """ASGI middleware: body size limit, then the signed-operator requirement."""

    def __init__(
        self, app: ASGIApp, *, sessions: Sessions, open_access: bool, limit: int = MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.open_access = open_access
        self.limited = BodyLimit(app, limit=limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if not self.open_access and not path.startswith(PUBLIC_PREFIXES):
            if self.sessions.operator(_cookie(scope, SESSION_COOKIE)) is None:
                await self._unsigned(scope, send, path)
                return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        await self.limited(scope, receive, send)

    async def _unsigned(self, scope: Scope, send: Send, path: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4401})
            return
        if path.startswith(("/api/", "/ws/")):
            await _answer(send, 401, "请先用 PIN 登录 / sign in with your PIN first")
            return
        target = quote(path if scope.get("method") == "GET" else "/console/", safe="/")
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", f"/console/signin?next={target}".encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Where and what, never the value that was posted."""
    out = []
    for err in list(errors)[:20]:
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    return out


def install_validation_handler(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = clean_validation_errors(exc.errors())
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(first["loc"]) or "body"
        return JSONResponse(
            {
                "detail": f"请求格式错误 / invalid request: {where}: {first['msg']}",
                "errors": errors,
            },
            status_code=422,
        )
