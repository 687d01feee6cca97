"""What each console page shows, gathered from the node (plain dicts for the templates)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from edge.coldchain import PROFILES
from edge.outbox.schema import now_ms
from edge.station.directory import SHANGHAI, PriceEstimate
from gongfang import wire

if TYPE_CHECKING:
    from edge.node_view import NodeView

GRADES = [g.value for g in wire.Grade]
CHART_HOURS = 24
ROOM_LOTS_SHOWN = 40


def day_start_ms(now: datetime | None = None) -> int:
    """Epoch ms of today's midnight in Asia/Shanghai."""
    local = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    return int(datetime.combine(local.date(), time(0), SHANGHAI).timestamp() * 1000)


def item_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per fruit/leaf: its number on the photo, grade, size, white/spot figures."""
    rows = []
    for n, it in enumerate(items, start=1):
        ln, wd, d = it.get("length_mm"), it.get("width_mm"), it.get("diameter_mm")
        if isinstance(ln, int | float) and isinstance(wd, int | float):
            size = f"{ln:.0f} × {wd:.0f} mm"
        elif isinstance(d, int | float):
            size = f"{d:.1f} mm"
        else:
            size = None
        white, spot = it.get("white_fraction"), it.get("spot_pct")
        holes = it.get("holes")
        rows.append(
            {
                "n": n,
                "label": str(it.get("label") or ""),
                "grade": it.get("grade") if it.get("grade") in GRADES else None,
                "size": size,
                "white_pct": round(white * 100) if isinstance(white, int | float) else None,
                "spot_pct": round(spot, 1) if isinstance(spot, int | float) else None,
                "yellow_pct": round(y, 1)
                if isinstance(y := it.get("yellow_pct"), int | float)
                else None,
                "holes": len(holes) if isinstance(holes, list) else None,
                "tears": it.get("tears") if isinstance(it.get("tears"), int) else None,
            }
        )
    return rows


def _estimate(
    node: NodeView, farmer: str | None, product: str, grade: str | None, net_g: int, at: str
) -> PriceEstimate | None:
    if farmer is None or grade is None:
        return None
    try:
        captured = datetime.fromisoformat(at)
        return node.directory.estimate(
            farmer_id=farmer,
            product=wire.Product(product),
            grade=wire.Grade(grade),
            net_g=net_g,
            captured_at=captured,
        )
    except ValueError:
        return None


_RULE_WORDS_EN = (
    ("等外价", "reject price"),
    ("市场价", "market"),
    ("保底价", "floor"),
    ("元/kg", "yuan/kg"),
    ("；", "; "),
)


def explain(text: str, lang: str) -> str:
    """The estimate's rule (written by :mod:`edge.station.directory` in Chinese) for the
    page's language: only words change, the figures stay as computed."""
    if lang == "zh":
        return text
    for zh, en in _RULE_WORDS_EN:
        text = text.replace(zh, en)
    return text


def lanes_view(node: NodeView) -> list[dict[str, Any]]:
    """Every lane with its weight, farmer, current pending lot (photo items, estimate)."""
    status = node.station.status()
    return [lane_view(node, lane_id, s) for lane_id, s in status["lanes"].items()]


def lane_view(node: NodeView, lane_id: str, s: dict[str, Any] | None = None) -> dict[str, Any]:
    if s is None:
        s = node.station.status()["lanes"][lane_id]
    pending = s["pending"]
    current: dict[str, Any] | None = None
    if pending:
        current = dict(pending[0])
        p = node.station.pending_lot(lane_id, current["lot_id"])
        g = p.grading if p is not None else None
        current["items"] = item_rows(g.items) if g is not None else []
        current["flags"] = list(g.flags) if g is not None else []
        current["has_photo"] = bool(
            g is not None and node.photos is not None and node.photos.path(g.frame_sha256).exists()
        )
        current["estimate"] = _estimate(
            node,
            current["farmer"],
            s["product"],
            current["grade"],
            current["net_g"],
            current["captured_at"],
        )
    last = s.get("last_lot")
    return {
        "id": lane_id,
        **s,
        "current": current,
        "waiting": len(pending) - 1 if pending else 0,
        "last": last,
        "key": lane_key(s),
        "net_g": shown_net_g(s),
    }


def lane_key(s: dict[str, Any]) -> str:
    """Changes whenever the lane's panel (not its weight) must be drawn again."""
    f = s.get("farmer") or {}
    last = s.get("last_lot") or {}
    parts = [str(f.get("id")), str(last.get("lot_id"))]
    parts += [f"{p['lot_id']}:{p['grade']}:{p['waiting_for']}:{p['farmer']}" for p in s["pending"]]
    return "|".join(parts)


def shown_net_g(s: dict[str, Any]) -> int:
    """The net weight the lane shows: once settled, the weight the lot was made with (the
    live reading keeps wobbling by a few grams); before that the reading less the tare."""
    if s["settled"] and s["pending"]:
        return int(s["pending"][-1]["net_g"])
    w = s["weight_g"]
    return 0 if w is None else max(0, int(w) - int(s["tare_g"]))


def live_doc(node: NodeView) -> dict[str, Any]:
    """The lanes' live figures pushed to the console several times a second."""
    st = node.station.status()
    return {
        "lanes": {
            lane_id: {
                "weight_g": s["weight_g"],
                "net_g": shown_net_g(s),
                "settled": s["settled"],
                "status": s["weight_status"],
                "ts_ms": s["weight_ts_ms"],
                "key": lane_key(s),
            }
            for lane_id, s in st["lanes"].items()
        }
    }


def today_view(node: NodeView, farmer_q: str | None) -> dict[str, Any]:
    """Today's lots at this station: totals by product and grade; one farmer's lots."""
    since = day_start_ms()
    totals = {(p, g): (n, w) for p, g, n, w in node.store.totals_since(since)}
    rows: list[dict[str, Any]] = [
        {"product": p, "grade": g, "lots": totals[(p, g)][0], "net_g": totals[(p, g)][1]}
        for p in (x.value for x in wire.Product)
        for g in GRADES
        if (p, g) in totals
    ]
    by_product: dict[str, dict[str, int]] = defaultdict(lambda: {"lots": 0, "net_g": 0})
    for r in rows:
        by_product[r["product"]]["lots"] += r["lots"]
        by_product[r["product"]]["net_g"] += r["net_g"]
    q = (farmer_q or "").strip()
    farmer = node.directory.farmer(q) if q else None
    mine = node.store.lots_since(since, farmer=farmer.id if farmer else q) if q else []
    return {
        "rows": rows,
        "by_product": dict(by_product),
        "total": {
            "lots": sum(n for n, _ in totals.values()),
            "net_g": sum(w for _, w in totals.values()),
        },
        "q": q,
        "farmer": farmer,
        "farmer_lots": [_lot_row(node, s.record, s.receipt_done) for s in mine],
        "recent": [
            _lot_row(node, s.record, s.receipt_done) for s in node.store.lots_since(since, 30)
        ],
    }


def _lot_row(node: NodeView, lot: wire.LotRecord, receipt_done: bool) -> dict[str, Any]:
    est = node.directory.estimate(
        farmer_id=lot.farmer,
        product=lot.product,
        grade=lot.grade,
        net_g=lot.net_g,
        captured_at=lot.captured_at,
    )
    hint = node.directory.farmer(lot.farmer)
    return {
        "id": str(lot.id),
        "short": str(lot.id)[:8],
        "captured_at": lot.captured_at,
        "farmer": lot.farmer,
        "farmer_name": hint.name if hint else None,
        "product": lot.product.value,
        "grade": lot.grade.value,
        "net_g": lot.net_g,
        "graded_by": lot.graded_by,
        "estimate": est,
        "receipt_done": receipt_done,
    }


def rooms_view(node: NodeView) -> list[dict[str, Any]]:
    """Each cold room: now, the last 24 h chart data with its band, alarms, lots inside."""
    status = node.status()
    since = now_ms() - CHART_HOURS * 3600 * 1000
    alarms = [wire.AlarmRecord.model_validate(a) for a in status["active_alarms"]]
    open_stays = node.store.open_stays()
    out = []
    for room, profile_name in node.settings.rooms.items():
        prof = PROFILES[profile_name]
        series = node.store.climate_since(room, since)
        lots: list[dict[str, Any]] = []
        for lot_id, r, _from in open_stays:
            if r != room or len(lots) >= ROOM_LOTS_SHOWN:
                continue
            stay = node.lot_stay(lot_id) or {}
            stored = node.store.get_lot(lot_id)
            lots.append(
                {
                    "id": lot_id,
                    "short": lot_id[:8],
                    "from_ms": _from,
                    "farmer": stored.record.farmer if stored else None,
                    "grade": stored.record.grade.value if stored else None,
                    "net_g": stored.record.net_g if stored else None,
                    "shelf_h": stay.get("remaining_shelf_life_h"),
                }
            )
        lots.sort(key=lambda x: (x["shelf_h"] is None, x["shelf_h"] or 0))
        out.append(
            {
                "id": room,
                "profile": profile_name,
                "band": {
                    "temp_min": prof.temp_min_c,
                    "temp_max": prof.temp_max_c,
                    "rh_min": prof.rh_min_pct,
                    "rh_max": prof.rh_max_pct,
                },
                "now": status["rooms"].get(room) or {},
                "chart": {
                    "t": [int(wire.utc_ms(s.minute_start) / 1000) for s in series],
                    "temp": [round(s.temp_mean_c, 2) for s in series],
                    "temp_min": [round(s.temp_min_c, 2) for s in series],
                    "temp_max": [round(s.temp_max_c, 2) for s in series],
                    "rh": [round(s.rh_mean_pct, 1) for s in series],
                    "band": [prof.temp_min_c, prof.temp_max_c, prof.rh_min_pct, prof.rh_max_pct],
                },
                "alarms": [a for a in alarms if a.room == room],
                "lots": lots,
                "lots_total": sum(1 for _, r, _f in open_stays if r == room),
            }
        )
    return out


def link_view(node: NodeView) -> dict[str, Any]:
    """Online or not, the outbox, what the server refused, the last sync."""
    st = node.status()
    sync = st["sync"]
    online = sync.get("status") == "ok"
    return {
        "online": online,
        "sync": sync,
        "sync_status": sync.get("status"),
        "configured": sync.get("status") != "disabled",
        "mqtt": st["mqtt"]["connected"],
        "outbox": st["outbox"],
        "parked": node.store.parked(),
        "last_sync_ms": st["last_successful_sync_ms"],
        "receipts": st["receipts"],
        "devices": st["devices"],
        "directory_loaded": st["directory_loaded"],
    }
