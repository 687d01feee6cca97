"""The operator API and console served by uvicorn on a thread of the edge node."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from edge.node_view import NodeView

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0


class OperatorHttp:
    """``start()`` serves :func:`edge.station.api.build_app` for ``node``; ``stop()``."""

    def __init__(self, node: NodeView, *, host: str, port: int) -> None:
        self._node = node
        self._host = host
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str | None:
        """Serve and wait until it listens; returns its URL (None: it did not start)."""
        import uvicorn

        from edge.station.api import build_app

        config = uvicorn.Config(
            build_app(self._node),
            host=self._host,
            port=self._port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, name="edge-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.02)
        if not server.started:
            log.error("本地操作接口未能启动 / operator API did not start")
            return None
        port = server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self._host}:{port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
