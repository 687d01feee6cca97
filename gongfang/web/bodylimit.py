"""Request bodies above a limit get 413 before an app reads them (declared or streamed)."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITE_METHODS = ("POST", "PUT", "PATCH")


def detail_body(message: str) -> bytes:
    """FastAPI's own error shape, ``{"detail": …}``."""
    return json.dumps({"detail": message}, ensure_ascii=False).encode()


class BodyLimit:
    """ASGI middleware: 413 for a declared Content-Length above ``limit``, or for a chunked
    body whose bytes pass it while being read (the read part is replayed to the app)."""

    def __init__(
        self, app: ASGIApp, *, limit: int, render: Callable[[str], bytes] = detail_body
    ) -> None:
        self.app = app
        self.limit = limit
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > self.limit:
            await self._reject(send)
            return
        if declared is not None or scope.get("method") not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._reject(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send) -> None:
        body = self.render(
            f"请求体过大（上限 {self.limit} 字节）/ request body larger than {self.limit} bytes"
        )
        await send({
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})
