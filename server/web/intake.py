"""Daily intake dashboard: kg (and 斤) per day by product and grade per station, a chart,
the day's total against each station's target, a date-range picker and a CSV download.

The figures are the daily aggregates kept on ingest (:mod:`server.aggregates`), limited to
the stations of the user's cooperative (admins: every station).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.money import fen_to_yuan_str, grams_to_jin_str, grams_to_kg_str
from gongfang.web.fmt import today_local
from gongfang.web.i18n import request_lang
from server.aggregates.service import AggregateRow, query
from server.auth.models import User
from server.core.deps import SessionDep, scope_cooperative
from server.payouts.cells import safe_row
from server.stations.models import Station
from server.stations.service import set_daily_target
from server.web.fields import FieldMessages, parse_optional_weight, parse_range
from server.web.forms import FieldError
from server.web.pages import PAGES, render
from server.web.session import PageUser, PayoutPageUser

router = APIRouter(include_in_schema=False)
GRADES = ("extra", "class_i", "class_ii", "reject")
DEFAULT_DAYS = 14
MAX_DAYS = 92
Text = Annotated[str, Form(max_length=100)]


@dataclass(frozen=True, slots=True)
class DayTotal:
    station: Station
    day: date
    net_g: int
    lots: int

    @property
    def pct(self) -> int | None:
        """Per cent of the target reached (whole, rounded down), None without a target."""
        target = self.station.daily_target_g
        return None if not target else self.net_g * 100 // target


@dataclass
class TableRow:
    """One day × station × product of the table: grams per grade and the totals."""

    day: date
    station: str
    product: str
    by_grade: dict[str, int]
    net_g: int = 0
    lots: int = 0
    unpriced_lots: int = 0
    amount_fen: int = 0


def _table(rows: list[AggregateRow]) -> list[TableRow]:
    """The aggregate rows pivoted to a column per grade, newest day first."""
    out: dict[tuple[date, str, str], TableRow] = {}
    for r in rows:
        row = out.get((r.day, r.station, r.product))
        if row is None:
            row = out[(r.day, r.station, r.product)] = TableRow(r.day, r.station, r.product, {})
        row.by_grade[r.grade] = row.by_grade.get(r.grade, 0) + r.net_g
        row.net_g += r.net_g
        row.lots += r.lots
        row.unpriced_lots += r.unpriced_lots
        row.amount_fen += r.amount_fen
    return sorted(out.values(), key=lambda t: (-t.day.toordinal(), t.station, t.product))


def _stations(session: Session, user: User) -> list[Station]:
    scope = scope_cooperative(user, None)
    stmt = select(Station).order_by(Station.cooperative_id, Station.id)
    if scope is not None:
        stmt = stmt.where(Station.cooperative_id == scope)
    return list(session.scalars(stmt))


def _read(
    session: Session, user: User, date_from: str | None, date_to: str | None, station: str | None
) -> dict[str, Any]:
    """Parse the picker (defaults: the last fortnight) and load the rows it asks for."""
    stations = _stations(session, user)
    today = today_local()
    texts = {
        "date_from": date_from or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "date_to": date_to or today.isoformat(),
        "station": station or "",
    }
    errors: dict[str, str] = {}
    span = parse_range(texts["date_from"], texts["date_to"], max_days=MAX_DAYS, errors=errors)
    by_id = {s.id: s for s in stations}
    if station and station not in by_id:
        errors["station"] = "intake.err.station"
    if span is None or errors:
        # Show the default fortnight under the messages, so the page is never empty.
        span = (today - timedelta(days=DEFAULT_DAYS - 1), today)
    shown = [by_id[station]] if station in by_id else stations
    rows = (
        query(
            session=session, first_day=span[0], last_day=span[1], station_ids=[s.id for s in shown]
        )
        if shown
        else []
    )
    return {
        "stations": stations,
        "shown": shown,
        "span": span,
        "texts": texts,
        "errors": FieldMessages(errors),
        "rows": rows,
    }


def _nested(given: dict[str, dict[str, str]] | None) -> defaultdict[str, FieldMessages]:
    """Per-station form values or messages; a missing one reads as "" in the template."""
    out: defaultdict[str, FieldMessages] = defaultdict(FieldMessages)
    for key, values in (given or {}).items():
        out[key].update(values)
    return out


def _days(span: tuple[date, date]) -> list[date]:
    return [span[0] + timedelta(days=n) for n in range((span[1] - span[0]).days + 1)]


def _chart(
    rows: list[AggregateRow], days: list[date], shown: list[Station], t: Any
) -> dict[str, Any]:
    """uPlot's data: x = UTC midnight of each day (seconds), a series per product × grade
    in kg, the total and the summed target (``null`` where a day has nothing)."""
    index = {d: n for n, d in enumerate(days)}
    per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(days))
    for r in rows:
        per[(r.product, r.grade)][index[r.day]] += r.net_g
    order = {g: n for n, g in enumerate(GRADES)}
    keys = sorted(per, key=lambda k: (k[0], order.get(k[1], 9)))
    totals = [sum(per[k][n] for k in keys) for n in range(len(days))]
    target = sum(s.daily_target_g or 0 for s in shown)
    return {
        "x": [int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) for d in days],
        "series": [
            {
                "label": f"{t('product.' + p)} {t('grade.' + g)}",
                "grade": g,
                "kg": [v / 1000 for v in per[(p, g)]],
            }
            for p, g in keys
        ],
        "total": {"label": t("intake.chart_total"), "kg": [v / 1000 for v in totals]},
        "target": None if not target else {"label": t("intake.chart_target"), "kg": target / 1000},
        "y_label": t("intake.chart_y"),
        "x_label": t("common.date"),
    }


@router.get("/coop/intake", response_model=None)
def intake_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    date_from: str | None = None,
    date_to: str | None = None,
    station: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    return _render(request, session, user, date_from, date_to, station, done=done)


def _render(
    request: Request,
    session: Session,
    user: User,
    date_from: str | None,
    date_to: str | None,
    station: str | None,
    *,
    done: str | None = None,
    target_errors: dict[str, dict[str, str]] | None = None,
    target_form: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    data = _read(session, user, date_from, date_to, station)
    days = _days(data["span"])
    rows: list[AggregateRow] = data["rows"]
    last = data["span"][1]
    by_day_station: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        acc = by_day_station[(r.day, r.station)]
        acc[0] += r.net_g
        acc[1] += r.lots
    cards = [DayTotal(s, last, *by_day_station.get((last, s.id), [0, 0])) for s in data["shown"]]
    t = PAGES.messages.translator(request_lang(request))
    names = {s.id: s.name for s in data["stations"]}
    ctx = {
        "user": user,
        "nav": "intake",
        **data,
        "names": names,
        "cards": cards,
        "last_day": last,
        "is_today": last == today_local(),
        "chart": _chart(rows, days, data["shown"], t),
        "table": _table(rows),
        "grades": GRADES,
        "grade_totals": {g: sum(r.net_g for r in rows if r.grade == g) for g in GRADES},
        "total_g": sum(r.net_g for r in rows),
        "total_lots": sum(r.lots for r in rows),
        "can_set_target": user.role in ("reviewer", "admin"),
        "target_errors": _nested(target_errors),
        "target_form": _nested(target_form),
        "done": done == "target",
        "csv_query": _query(data),
        "max_days": MAX_DAYS,
    }
    return render(request, "intake.html", ctx, status=status)


def _query(data: dict[str, Any]) -> str:
    first, last = data["span"]
    params = {"date_from": first.isoformat(), "date_to": last.isoformat()}
    if data["shown"] and data["texts"]["station"]:
        params["station"] = data["texts"]["station"]
    return urlencode(params)


@router.get("/coop/intake.csv", response_model=None)
def intake_csv(
    request: Request,
    session: SessionDep,
    user: PageUser,
    date_from: str | None = None,
    date_to: str | None = None,
    station: str | None = None,
) -> Response:
    """The rows of the dashboard: exact kg and 斤 (from integer grams), amounts in 元."""
    data = _read(session, user, date_from, date_to, station)
    if data["errors"]:
        return _render(request, session, user, date_from, date_to, station, status=422)
    names = {s.id: s.name for s in data["stations"]}
    t = PAGES.messages.translator(request_lang(request))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([t(f"intake.csv.{c}") for c in (
        "date", "station", "station_name", "product", "grade", "lots", "net_kg", "net_jin",
        "unpriced_lots", "amount_yuan",
    )])  # fmt: skip
    for r in data["rows"]:
        w.writerow(safe_row([
            r.day.isoformat(), r.station, names.get(r.station, r.station),
            t(f"product.{r.product}"), t(f"grade.{r.grade}"), r.lots, grams_to_kg_str(r.net_g, 3),
            grams_to_jin_str(r.net_g, 3), r.unpriced_lots, fen_to_yuan_str(r.amount_fen),
        ]))  # fmt: skip
    first, last = data["span"]
    name = f"intake_{first.isoformat()}_{last.isoformat()}.csv"
    return Response(
        ("\ufeff" + buf.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/coop/intake/target", response_model=None)
def intake_target(
    request: Request,
    session: SessionDep,
    user: PayoutPageUser,
    station: Text = "",
    target: Text = "",
    unit: Text = "jin",
    date_from: Text = "",
    date_to: Text = "",
    filter_station: Text = "",
) -> Response:
    """Set a station's daily target (reviewers and admins), typed in 斤 or kg."""
    scope = scope_cooperative(user, None)
    try:
        grams = parse_optional_weight(target, unit)
    except FieldError as exc:
        return _render(
            request, session, user, date_from or None, date_to or None, filter_station or None,
            target_errors={station: {"target": exc.key}},
            target_form={station: {"target": target, "unit": unit}}, status=422,
        )  # fmt: skip
    set_daily_target(
        session=session, station_id=station, target_g=grams, cooperative_id=scope, actor=user.name
    )
    back = urlencode(
        {"date_from": date_from, "date_to": date_to, "station": filter_station, "done": "target"}
    )
    return RedirectResponse(f"/coop/intake?{back}", status_code=303)
