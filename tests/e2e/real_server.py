"""The REAL central server (``server.main.create_app``) for whole-system edge tests.

Runs uvicorn in a subprocess on a fixed free port over a SQLite database provisioned with
the server's own import and station-key functions, so it can be stopped ("down for
hours") and started again while the edge keeps recording.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gongfang.embedded_broker import free_port


class RealServer:
    def __init__(self, workdir: Path, *, station: str, farmers: list[str]) -> None:
        self.db_url = f"sqlite:///{workdir / 'server.db'}"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "GONGFANG_SERVER_DATABASE_URL": self.db_url,
            "GONGFANG_SERVER_DEV_MODE": "1",
            # photos from the edge stay in the test's folder, not under the user's home
            "GONGFANG_SERVER_PHOTOS_DIR": str(workdir / "photos"),
        }
        self.api_key = self._provision(station, farmers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bundle(self, station: str, farmers: list[str]) -> dict[str, Any]:
        """The import bundle the server starts with: one cooperative, the station, its
        farmers (a subclass may add contracts)."""
        return {
            "cooperatives": [{"id": "coop1", "name": "建德草莓合作社"}],
            "stations": [{"id": station, "cooperative": "coop1", "name": "测试站"}],
            "farmers": [{"id": f, "name": f"农户{f}", "cooperative": "coop1"} for f in farmers],
        }

    def _provision(self, station: str, farmers: list[str]) -> str:
        from server.core.db import make_engine, session_factory, session_scope, upgrade
        from server.importer import import_bundle
        from server.stations.service import issue_station_key

        upgrade(self.db_url)
        engine = make_engine(self.db_url)
        try:
            with session_scope(session_factory(engine)) as session:
                import_bundle(session=session, doc=self.bundle(station, farmers))
                return issue_station_key(session=session, station_id=station)
        finally:
            engine.dispose()

    def start(self, timeout_s: float = 30.0) -> RealServer:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "server.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def lots(self) -> list[tuple[str, int, int, int]]:
        """(id, gross_g, tare_g, net_g) of every lot the server holds."""
        from sqlalchemy import select

        from server.core.db import make_engine, session_factory
        from server.lots.models import Lot

        engine = make_engine(self.db_url)
        try:
            with session_factory(engine)() as session:
                rows = session.execute(select(Lot.id, Lot.gross_g, Lot.tare_g, Lot.net_g)).all()
                return [(str(a), int(b), int(c), int(d)) for a, b, c, d in rows]
        finally:
            engine.dispose()
