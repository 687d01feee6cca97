"""Cold-chain page: alarms across the cooperative's stations with their acknowledgement
(who and when, as synced from the station console) and each room's daily mean kinetic
temperature, for a date range (at most a month)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.web.fmt import today_local
from gongfang.web.i18n import request_lang
from server.auth.models import User
from server.coldchain.mkt import RoomDay, daily_mkt
from server.coldchain.models import Alarm
from server.coldchain.service import alarms_for
from server.core.deps import SessionDep, scope_cooperative
from server.pricing.service import shanghai_day_start
from server.stations.models import Station
from server.web.errors import one_language
from server.web.fields import FieldMessages, parse_range
from server.web.pages import render
from server.web.session import PageUser

router = APIRouter(include_in_schema=False)
DEFAULT_DAYS = 7
MAX_DAYS = 31
MAX_ALARMS = 300
MKT_WARN_C = 4.0  # the major-alarm threshold of a strawberry room (DESIGN.md "Cold chain")
SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2, "warning": 3}


@dataclass(frozen=True, slots=True)
class AlarmView:
    alarm: Alarm
    station_name: str
    acked_by: str | None
    acked_at: datetime | None
    message: str  # the page's language half of "中文 / English"
    peak_unit: str


def _stations(session: Session, user: User) -> list[Station]:
    scope = scope_cooperative(user, None)
    stmt = select(Station).order_by(Station.id)
    if scope is not None:
        stmt = stmt.where(Station.cooperative_id == scope)
    return list(session.scalars(stmt))


def _peak_unit(rule: str) -> str:
    if rule.startswith("temp"):
        return " °C"
    return " %" if rule.startswith("rh") else ""


def _alarms(
    session: Session,
    stations: list[Station],
    first: date,
    last: date,
    active_only: bool,
    lang: str,
) -> list[AlarmView]:
    names = {s.id: s.name for s in stations}
    found = alarms_for(
        session=session, station_ids=list(names), active=True if active_only else None
    )
    start, end = shanghai_day_start(first), shanghai_day_start(last + timedelta(days=1))
    views = []
    for a in found:
        # An active alarm is shown whatever its start; a cleared one if it overlaps the range.
        if a.cleared_at is not None and (a.cleared_at < start or a.started_at >= end):
            continue
        views.append(
            AlarmView(
                alarm=a,
                station_name=names.get(a.station_id, a.station_id),
                acked_by=a.acked_by,  # acknowledged on the station console, synced
                acked_at=a.acked_at,
                message=one_language(a.message, lang),
                peak_unit=_peak_unit(a.rule),
            )
        )
    views.sort(
        key=lambda v: (
            v.alarm.cleared_at is not None,
            SEVERITY_ORDER.get(v.alarm.severity, 9),
            -v.alarm.started_at.timestamp(),
        )
    )
    return views[:MAX_ALARMS]


def _matrix(rows: list[RoomDay], first: date, last: date) -> dict[str, Any]:
    """Days (newest first) × rooms, for the MKT table."""
    rooms = sorted({(r.station_id, r.room) for r in rows})
    cells = {(r.day, r.station_id, r.room): r for r in rows}
    days = [last - timedelta(days=n) for n in range((last - first).days + 1)]
    return {"rooms": rooms, "days": days, "cells": cells}


@router.get("/coop/coldchain", response_model=None)
def coldchain_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    date_from: str | None = None,
    date_to: str | None = None,
    active: str | None = None,
) -> HTMLResponse:
    today = today_local()
    texts = {
        "date_from": date_from or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "date_to": date_to or today.isoformat(),
    }
    errors: dict[str, str] = {}
    span = parse_range(texts["date_from"], texts["date_to"], max_days=MAX_DAYS, errors=errors)
    if span is None:
        span = (today - timedelta(days=DEFAULT_DAYS - 1), today)
    stations = _stations(session, user)
    active_only = active == "1"
    rows = daily_mkt(
        session=session, station_ids=[s.id for s in stations], first_day=span[0], last_day=span[1]
    )
    ctx = {
        "user": user,
        "nav": "coldchain",
        "texts": texts,
        "errors": FieldMessages(errors),
        "span": span,
        "active_only": active_only,
        "alarms": _alarms(session, stations, span[0], span[1], active_only, request_lang(request)),
        "names": {s.id: s.name for s in stations},
        "mkt": _matrix(rows, span[0], span[1]),
        "mkt_warn_c": MKT_WARN_C,
        "max_days": MAX_DAYS,
    }
    return render(request, "coldchain.html", ctx)
