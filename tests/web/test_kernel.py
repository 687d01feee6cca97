"""The page kernel: catalogues complete in both languages, exact display formats, guards."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gongfang.web import fmt
from gongfang.web.i18n import LANG_COOKIE, Messages
from gongfang.web.routes import mount_web, safe_next
from gongfang.web.security import PageGuard

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_DIRS = sorted({p.parent for p in ROOT.glob("*/**/locale/zh.json")
                         if ".venv" not in p.parts})


@pytest.mark.parametrize("folder", CATALOGUE_DIRS, ids=lambda p: str(p.relative_to(ROOT)))
def test_both_languages_carry_the_same_keys(folder: Path) -> None:
    zh = json.loads((folder / "zh.json").read_text(encoding="utf-8"))
    en = json.loads((folder / "en.json").read_text(encoding="utf-8"))
    assert set(zh) == set(en), f"zh only: {set(zh) - set(en)}; en only: {set(en) - set(zh)}"
    for key in zh:
        ph_zh = set(re.findall(r"{(\w+)}", zh[key]))
        ph_en = set(re.findall(r"{(\w+)}", en[key]))
        assert ph_zh == ph_en, f"{key}: placeholders differ"
        assert zh[key].strip(), key
        assert en[key].strip(), key


def test_catalogues_found() -> None:
    assert ROOT / "gongfang" / "web" / "locale" in CATALOGUE_DIRS


def test_translator_formats_and_falls_back() -> None:
    m = Messages.load()
    assert m.translator("zh")("grade.extra") == "特级"
    assert m.translator("en")("grade.class_ii") == "Class II"
    assert m.translator("xx")("grade.reject") == "等外"  # unknown language → Chinese
    assert m.translator("en")("no.such.key") == "no.such.key"


def test_formats_are_exact() -> None:
    assert fmt.kg(12345) == "12.35 kg"
    assert fmt.jin(12345) == "24.69 斤"
    assert fmt.jin(14_000_000, 0) == "28,000 斤"
    assert fmt.yuan(-1250) == "-12.50"
    assert fmt.yuan(123456789) == "1,234,567.89"
    assert fmt.per_kg(1440) == "14.40 元/kg"
    assert fmt.per_jin(1440) == "7.20 元/斤"
    assert fmt.per_jin(1441) == "7.205 元/斤"
    assert fmt.kg(None) == "—"
    ts = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    assert fmt.local_dt(ts) == "2026-12-02 00:30"
    assert fmt.local_date(int(ts.timestamp() * 1000)) == "2026-12-02"


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/coop/runs?x=1", "/coop/runs?x=1"), ("//evil.example/", "/"), ("https://evil.example", "/"),
     ("/\\evil", "/"), (None, "/"), ("", "/")],
)
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def _guarded() -> TestClient:
    app = FastAPI()

    @app.post("/write")
    def write() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/page")
    def page() -> dict[str, bool]:
        return {"ok": True}

    mount_web(app, docs=False)
    app.add_middleware(PageGuard, secret="test-secret-0123456789")
    return TestClient(app)


def test_language_switch_sticks_and_stays_local() -> None:
    c = _guarded()
    r = c.get("/lang/en", params={"next": "/page"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/page"
    assert c.cookies.get(LANG_COOKIE) == "en"
    r = c.get("/lang/en", params={"next": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_foreign_origin_write_is_refused() -> None:
    c = _guarded()
    r = c.post("/write", headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    assert c.post("/write", headers={"origin": "http://testserver"}).status_code == 200


def test_cookie_bearing_write_needs_the_csrf_token() -> None:
    c = _guarded()
    c.cookies.set("session", "x")
    r = c.post("/write", data={"a": "1"})
    assert r.status_code == 403
    assert "expired" in r.text
