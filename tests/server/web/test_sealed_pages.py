"""A farmer's line in a payout run shows the bank account and phone masked, in both
languages, and the page's HTML holds no full number (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.server.web.review_seed import F1, F9
from tests.server.web.test_review_access import (  # noqa: F401 (fixtures)
    make_run,
    seeded,
    settings,
    sign_in,
    web,
)


def test_the_line_page_shows_only_masks(web: TestClient, sessions: Any) -> None:  # noqa: F811
    run_id = make_run(sessions)
    sign_in(web, "reviewer1")
    for lang in ("zh", "en"):
        web.cookies.set("gf_lang", lang)
        res = web.get(f"/coop/runs/{run_id}/farmers/{F1}")
        assert res.status_code == 200
        assert '<span id="bank-account"' in res.text
        assert "**** **** **** 7890</span>" in res.text
        assert '<span id="phone">138****5678</span>' in res.text
        for secret in ("6222021234567890", "02123456", "13812345678", "1234567"):
            assert secret not in res.text
    assert "Bank account" in res.text
    assert "the exported bank batch" in res.text
    # A farmer without either shows a dash, not an empty cell.
    res = web.get(f"/coop/runs/{run_id}/farmers/{F9}")
    assert '<span id="bank-account" ' in res.text
    assert "—</span>" in res.text
