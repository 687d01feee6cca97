"""Lot photos: upload by the station (idempotent by SHA-256, checked), shown only to the
lot's cooperative (bearer API and the session-cookie page route)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from gongfang.settings import ServerSettings
from server.auth.models import User
from server.auth.service import make_token
from server.core.db import session_scope
from server.photos.models import LotPhoto, Photo
from server.photos.service import photo_path
from server.stations.service import issue_station_key
from server.web.session import SESSION_COOKIE
from tests.server.conftest import SECRET, base_bundle, lot_id, wire_lot
from tests.server.photo_helpers import jpeg, sha, with_photos

A, B = "coop-a", "coop-b"
WHEN = "2026-03-02T02:00:00Z"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> ServerSettings:
    return ServerSettings.load(
        database_url=db_url,
        secret_key=SECRET,
        photos_dir=tmp_path / "photos",
        photo_max_bytes=64 * 1024,
    )


@pytest.fixture
def world(load, sessions, client, make_user) -> dict[str, Any]:
    """coop-a/st-a with lot 1 (naming photo P1) and lot 3 (no photo); coop-b/st-b with
    lot 2 naming photo P2."""
    photos = {"P1": jpeg(1), "P2": jpeg(2)}
    for coop, station in ((A, "st-a"), (B, "st-b")):
        load(base_bundle(coop, station))
    with session_scope(sessions) as s:
        keys = {st: issue_station_key(session=s, station_id=st) for st in ("st-a", "st-b")}
    batches = {
        "st-a": [
            with_photos(wire_lot(1, f"{A}-F1", net_g=1000, captured_at=WHEN), sha(photos["P1"])),
            wire_lot(3, f"{A}-F1", net_g=1200, captured_at=WHEN),
        ],
        "st-b": [
            with_photos(
                wire_lot(2, f"{B}-F1", net_g=900, station="st-b", captured_at=WHEN),
                sha(photos["P2"]),
            )
        ],
    }
    for station, lots in batches.items():
        res = client.post(
            "/api/v1/sync",
            json={"station": station, "lots": lots},
            headers={"X-Api-Key": keys[station]},
        )
        assert res.status_code == 200, res.text
        assert {a["result"] for a in res.json()["lots"]} == {"accepted"}
    return {
        "keys": keys,
        "photos": photos,
        "rev_a": make_user("rev-a", "reviewer", A),
        "rev_b": make_user("rev-b", "reviewer", B),
        "admin": make_user("admin", "admin"),
    }


def _put(client, key: str, lot: int, data: bytes, digest: str | None = None) -> Any:
    return client.put(
        f"/api/v1/photos/{digest or sha(data)}",
        params={"lot": lot_id(lot)},
        content=data,
        headers={"X-Api-Key": key, "Content-Type": "image/jpeg"},
    )


def _counts(sessions) -> tuple[int, int]:
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Photo)) or 0,
            s.scalar(select(func.count()).select_from(LotPhoto)) or 0,
        )


def test_upload_is_idempotent_by_hash(client, world, sessions, settings) -> None:
    data = world["photos"]["P1"]
    first = _put(client, world["keys"]["st-a"], 1, data)
    assert first.status_code == 201, first.text
    assert first.json() == {"sha256": sha(data), "size_bytes": len(data), "result": "accepted"}
    path = photo_path(root=settings.photos_dir, sha256=sha(data))
    assert path.read_bytes() == data
    assert path.parent.name == sha(data)[:2]
    again = _put(client, world["keys"]["st-a"], 1, data)
    assert again.status_code == 200, again.text
    assert again.json()["result"] == "duplicate"
    assert _counts(sessions) == (1, 1)
    assert list(settings.photos_dir.rglob("*.part")) == []


def test_refusals_store_nothing(client, world, sessions, settings) -> None:
    key = world["keys"]["st-a"]
    p1 = world["photos"]["P1"]
    cases = [
        # bytes that hash to something else than the name
        (_put(client, key, 1, jpeg(7), digest=sha(p1)), 422, "hash_mismatch"),
        # a photo no lot of this station names
        (_put(client, key, 1, jpeg(8)), 404, "no_lot_for_photo"),
        # another station's lot and photo, with this station's key
        (_put(client, key, 2, world["photos"]["P2"]), 404, "no_lot_for_photo"),
        # a malformed hash
        (_put(client, key, 1, p1, digest="ABC"), 422, "invalid"),
    ]
    for res, status, code in cases:
        assert res.status_code == status, res.text
        assert res.json()["error"] == code
    res = client.put(f"/api/v1/photos/{sha(p1)}", params={"lot": lot_id(1)}, content=p1)
    assert res.status_code == 401
    assert _counts(sessions) == (0, 0)
    assert not settings.photos_dir.exists() or list(settings.photos_dir.rglob("*.jpg")) == []


def test_non_jpeg_and_too_large_are_refused(client, load, sessions, world, settings) -> None:
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(png, format="PNG")
    fake = b"\xff\xd8\xff" + b"not a jpeg at all" * 10
    noisy = Image.effect_noise((600, 600), 90).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, format="JPEG", quality=95)
    big = out.getvalue()
    assert len(big) > settings.photo_max_bytes
    blobs = {"png": png.getvalue(), "fake": fake, "big": big}
    # a lot of st-a that names all three, so only the bytes are wrong
    lot = with_photos(
        wire_lot(5, f"{A}-F1", net_g=800, captured_at=WHEN), *(sha(b) for b in blobs.values())
    )
    key = world["keys"]["st-a"]
    res = client.post(
        "/api/v1/sync", json={"station": "st-a", "lots": [lot]}, headers={"X-Api-Key": key}
    )
    assert res.status_code == 200, res.text
    assert _put(client, key, 5, blobs["png"]).json()["error"] == "not_jpeg"
    assert _put(client, key, 5, blobs["fake"]).json()["error"] == "not_jpeg"
    res = _put(client, key, 5, blobs["big"])
    assert res.status_code == 413, res.text
    assert _counts(sessions) == (0, 0)


def test_photo_shown_only_to_the_lots_cooperative(client, world, sessions, settings) -> None:
    data = world["photos"]["P1"]
    assert _put(client, world["keys"]["st-a"], 1, data).status_code == 201
    url = f"/api/v1/lots/{lot_id(1)}/photo.jpg"
    res = client.get(url, headers=world["rev_a"])
    assert res.status_code == 200
    assert res.headers["content-type"] == "image/jpeg"
    assert res.content == data
    assert "private" in res.headers["cache-control"]
    assert client.get(url, headers=world["admin"]).content == data  # admins see all
    res = client.get(url, headers=world["rev_b"])
    assert res.status_code == 404
    assert data not in res.content
    assert client.get(url).status_code == 401
    # a lot without a photo, an unknown lot, a photo not uploaded yet: the same 404
    for lot in (3, 99):
        assert (
            client.get(f"/api/v1/lots/{lot_id(lot)}/photo.jpg", headers=world["rev_a"]).status_code
            == 404
        )
    assert (
        client.get(f"/api/v1/lots/{lot_id(2)}/photo.jpg", headers=world["rev_b"]).status_code == 404
    )


def _cookie_for(sessions, name: str) -> str:
    with sessions() as s:
        user = s.scalars(select(User).where(User.name == name)).one()
        return make_token(user=user, secret=SECRET, ttl_minutes=10)


def test_page_route_uses_the_session_cookie(client, world, sessions) -> None:
    data = world["photos"]["P1"]
    assert _put(client, world["keys"]["st-a"], 1, data).status_code == 201
    url = f"/coop/lots/{lot_id(1)}/photo.jpg"
    res = client.get(url, follow_redirects=False)
    assert res.status_code == 303
    assert res.headers["location"].startswith("/coop/login")
    client.cookies.set(SESSION_COOKIE, _cookie_for(sessions, "rev-a"))
    res = client.get(url)
    assert res.status_code == 200
    assert res.content == data
    client.cookies.set(SESSION_COOKIE, _cookie_for(sessions, "rev-b"))
    res = client.get(url)
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("text/html")
    assert data not in res.content


def test_lost_file_is_written_again(client, world, sessions, settings) -> None:
    data = world["photos"]["P1"]
    assert _put(client, world["keys"]["st-a"], 1, data).status_code == 201
    path = photo_path(root=settings.photos_dir, sha256=sha(data))
    path.unlink()
    res = _put(client, world["keys"]["st-a"], 1, data)
    assert res.json()["result"] == "duplicate"
    assert path.read_bytes() == data
