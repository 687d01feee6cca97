"""A disabled reviewer in real headless Chromium: the open page sends them to sign in at the
next click, and signing in again says the account is disabled, next to the name, in zh and
en (test-output/screenshots/coop_login_disabled_*)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gongfang.settings import ServerSettings
from server.auth.models import User
from server.auth.service import disable_user
from server.core.db import session_scope
from server.main import create_app
from tests.server.conftest import SECRET
from tests.server.web.review_seed import seed_cooperative
from tests.server.web.test_review_browser import sign_in
from tests.web.live import live_server


@pytest.fixture
def server(tmp_path: Path, password_hash: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    settings = ServerSettings.load(
        database_url=f"sqlite:///{tmp_path / 'server.db'}",
        secret_key=SECRET,
        photos_dir=tmp_path / "photos",
    )
    app = create_app(settings)
    sessions: sessionmaker[Session] = app.state.sessions
    with session_scope(sessions) as s:
        seed_cooperative(s, photos_dir=settings.photos_dir, password_hash=password_hash)
    try:
        with live_server(app) as base:
            yield base, sessions
    finally:
        app.state.engine.dispose()


def test_a_disabled_reviewer_is_signed_out_and_told_why(server, offline_page, shot) -> None:
    base, sessions = server
    page: Any = offline_page()
    page.goto(f"{base}/coop/login")
    sign_in(page, base, "reviewer1")
    assert page.url == f"{base}/coop/runs"
    with session_scope(sessions) as s:
        user = s.scalars(select(User).where(User.name == "reviewer1")).one()
        disable_user(session=s, user=user, actor="admin")
    page.goto(f"{base}/coop/intake")  # the cookie's token is revoked: back to sign-in
    assert "/coop/login?next=/coop/intake" in page.url
    for code in ("en", "zh"):
        page.context.add_cookies([{"name": "gf_lang", "value": code, "url": base}])
        page.reload()
        sign_in(page, base, "reviewer1")
        assert "/coop/login" in page.url
        assert page.locator("#name-error").is_visible()
        shot(page, f"coop_login_disabled_{code}")
    assert page.locator("#name-error").inner_text() == "该账号已停用，请联系管理员"
    assert page.gf_blocked == []
