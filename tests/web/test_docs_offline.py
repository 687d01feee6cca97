"""The server's API docs (Swagger UI and ReDoc) load fully with the internet cut."""

from __future__ import annotations

from pathlib import Path

from gongfang.settings import ServerSettings
from server.main import create_app
from tests.web.live import live_server


def test_docs_render_offline(tmp_path: Path, offline_page, shot) -> None:
    app = create_app(ServerSettings(database_url=f"sqlite:///{tmp_path / 's.db'}", dev_mode=True))
    with live_server(app) as base:
        page = offline_page()
        page.goto(f"{base}/docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
        assert page.locator(".opblock").count() > 10  # every route rendered from the local JS
        shot(page, "server_docs")
        page.goto(f"{base}/redoc")
        page.wait_for_selector("[role=navigation], .menu-content", timeout=20_000)
        assert page.gf_blocked == [], page.gf_blocked
