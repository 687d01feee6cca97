"""What the demo's day came to, told so a cooperative clerk can follow it.

One row per farmer (name and id, crates by grade, kg and 斤, amount) with the reason
behind every zero or unpriced amount and every quota split, a total row, then what the
共富价 added above the floor prices and the cold-room alarms of the day. The figures are
the payout draft's (the run the reviewer then sees); the reasons come from each lot's
pricing parts (DESIGN's pricing rule writes one explanation per part).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from gongfang.money import amount_fen, fen_to_yuan_str
from gongfang.web.fmt import jin, kg
from gongfang.wire import GRADE_ZH, Grade

PERIOD_DAYS = 14  # the draft covers the fortnight up to the demo day, as a clerk's would


@dataclass
class FarmerDay:
    """One farmer's lots of the period, as the report needs them."""

    farmer: str
    name: str
    grades: Counter[str] = field(default_factory=Counter)
    net_g: int = 0
    amount_fen: int = 0
    unpriced: list[str] = field(default_factory=list)  # reasons, one per unpriced lot
    reject_units: set[int] = field(default_factory=set)  # fen/kg paid for 等外
    over_quota_g: int = 0
    above_floor_fen: int = 0

    def grade_text(self) -> str:
        return " · ".join(
            f"{GRADE_ZH[g]} {self.grades[g.value]}" for g in Grade if self.grades[g.value]
        )

    def why(self) -> str:
        """The reasons a clerk would ask for, Chinese first."""
        out: list[str] = []
        if self.unpriced:
            reasons = "；".join(sorted(set(self.unpriced)))
            out.append(f"{len(self.unpriced)} 筐待审核：{reasons}")
        if self.grades[Grade.REJECT.value] and self.reject_units:
            units = "/".join(fen_to_yuan_str(u) for u in sorted(self.reject_units))
            out.append(f"{self.grades[Grade.REJECT.value]} 筐等外，按合同等外价 {units} 元/kg")
        if self.over_quota_g:
            out.append(f"配额用完：超出 {kg(self.over_quota_g)} 按市场价（不加共富价）")
        if self.above_floor_fen > 0:
            out.append(f"共富价高于保底价 +{fen_to_yuan_str(self.above_floor_fen)} 元")
        return "\n".join(out) or "—"


def gather(session: Any, cooperative: str, first: date, last: date) -> dict[str, FarmerDay]:
    """Every farmer's lots of the period, with reasons, from the server's records."""
    from sqlalchemy import select

    from server.contracts.models import Contract
    from server.farmers.models import Farmer
    from server.lots.models import Lot, LotPart

    names = dict(session.execute(select(Farmer.id, Farmer.name)).all())
    floors = {
        c.id: {
            "extra": c.floor_extra_fen_per_kg,
            "class_i": c.floor_class_i_fen_per_kg,
            "class_ii": c.floor_class_ii_fen_per_kg,
        }
        for c in session.scalars(select(Contract))
    }
    days: dict[str, FarmerDay] = {}
    lots = session.scalars(
        select(Lot)
        .where(Lot.cooperative_id == cooperative, Lot.intake_date.between(first, last))
        .order_by(Lot.captured_at)
    ).all()
    parts: dict[Any, list[Any]] = defaultdict(list)
    for p in session.scalars(select(LotPart).where(LotPart.lot_id.in_([x.id for x in lots]))):
        parts[p.lot_id].append(p)
    for lot in lots:
        d = days.setdefault(lot.farmer_id, FarmerDay(lot.farmer_id, names.get(lot.farmer_id, "")))
        d.grades[lot.grade] += 1
        d.net_g += lot.net_g
        if lot.amount_fen is None:
            d.unpriced.append(lot.unpriced_reason or "无价格")
            continue
        d.amount_fen += lot.amount_fen
        for p in parts[lot.id]:
            if p.basis == "reject":
                d.reject_units.add(p.unit_fen_per_kg)
            elif p.basis == "over_quota":
                d.over_quota_g += p.net_g
            elif p.basis == "contract" and lot.contract_id in floors:
                floor = floors[lot.contract_id].get(lot.grade)
                if floor is not None and p.unit_fen_per_kg > floor:
                    d.above_floor_fen += p.amount_fen - amount_fen(p.net_g, floor)
    return days


def payout_table(
    run_id: int,
    coop_name: str,
    first: date,
    last: date,
    lines: list[dict[str, Any]],
    days: dict[str, FarmerDay],
) -> Table:
    """The draft's lines with names, grades, kg/斤, amounts, reasons and a total row."""
    table = Table(
        title=f"结算草稿 #{run_id} Payout draft — {coop_name}，{first} 至 {last}",
        show_footer=True,
        show_lines=True,
    )
    paid = {str(line["farmer"]): line for line in lines}
    order = [*paid, *(f for f in days if f not in paid)]
    tot_lots = sum(sum(days[f].grades.values()) for f in order if f in days)
    tot_g = sum(days[f].net_g for f in order if f in days)
    tot_fen = sum(int(line["total_fen"]) for line in lines)
    table.add_column("农户 farmer", footer="合计 total")
    table.add_column("筐数 crates", justify="right", footer=str(tot_lots))
    table.add_column("等级 grades")
    table.add_column("净重 kg / 斤", justify="right", footer=f"{kg(tot_g)} / {jin(tot_g)}")
    table.add_column("应付 元", justify="right", footer=fen_to_yuan_str(tot_fen))
    table.add_column("说明 why")
    for fid in order:
        d = days.get(fid) or FarmerDay(fid, "")
        line = paid.get(fid)
        amount = fen_to_yuan_str(int(line["total_fen"])) if line else "—"
        table.add_row(
            f"{d.name} {fid}".strip(),
            str(sum(d.grades.values())),
            d.grade_text(),
            f"{kg(d.net_g)} / {jin(d.net_g)}",
            amount,
            d.why(),
        )
    return table


SEVERITY_ZH = {"critical": "严重", "major": "重要", "minor": "次要", "warning": "提示"}


def alarm_lines(session: Any, station: str) -> list[str]:
    """The station's cold-room alarms as the server holds them, one line each."""
    from sqlalchemy import select

    from gongfang.web.fmt import local_dt
    from server.coldchain.models import Alarm

    out = []
    for a in session.scalars(
        select(Alarm).where(Alarm.station_id == station).order_by(Alarm.started_at)
    ):
        state = f"已恢复 cleared {local_dt(a.cleared_at)}" if a.cleared_at else "仍在告警 active"
        out.append(
            f"{SEVERITY_ZH.get(a.severity, a.severity)} {a.severity} · "
            f"{a.message or a.rule} · 开始 {local_dt(a.started_at)} · {state}"
        )
    return out


def report(
    console: Console, db_url: str, cooperative: str, station: str, day: date
) -> dict[str, Any]:
    """Draft the period's payout run and print it with its reasons; the figures back."""
    from sqlalchemy import select

    from server.core.db import make_engine, session_factory, session_scope
    from server.payouts.queries import summarize
    from server.payouts.service import create_run
    from server.stations.models import Cooperative

    first = day - timedelta(days=PERIOD_DAYS - 1)
    engine = make_engine(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            run = create_run(
                session=session,
                cooperative_id=cooperative,
                period_from=first,
                period_to=day,
                actor="demo",
            )
            doc: dict[str, Any] = summarize(session=session, run=run).as_json()
            days = gather(session, cooperative, first, day)
            coop_name = (
                session.scalar(select(Cooperative.name).where(Cooperative.id == cooperative))
                or cooperative
            )
            alarms = alarm_lines(session, station)
    finally:
        engine.dispose()
    grades = Counter[str]()
    for d in days.values():
        grades.update(d.grades)
    above = sum(d.above_floor_fen for d in days.values())
    split = [d for d in days.values() if d.over_quota_g]
    unpriced = sum(len(d.unpriced) for d in days.values())
    graded = "，".join(f"{GRADE_ZH[g]} {grades[g.value]} 筐" for g in Grade if grades[g.value])
    console.print(f"相机定级 / grades by camera: {graded}")
    console.print(payout_table(int(doc["run"]), coop_name, first, day, doc["lines"], days))
    if above:
        console.print(
            f"共富价（市场价 × 1.20）比保底价多付 {fen_to_yuan_str(above)} 元 / the 共富 premium "
            f"paid {fen_to_yuan_str(above)} yuan above the floor prices"
        )
    for d in split:
        console.print(
            f"配额 / quota: {d.name} {d.farmer} 的配额用完，{kg(d.over_quota_g)} 按市场价 / "
            "past the contract quota, paid at the market price"
        )
    if unpriced:
        console.print(
            f"待审核 / unpriced: {unpriced} 筐没有价格（无有效合同），审核人在结算页处理 / "
            "no contract in force: the reviewer settles them on the run page"
        )
    console.print(f"冷库告警 / cold-room alarms: {len(alarms) or '无 none'}")
    for line in alarms:
        console.print(f"  ! {line}")
    return {
        "run": doc["run"],
        "grades": dict(grades),
        "total_fen": sum(int(line["total_fen"]) for line in doc["lines"]),
        "above_floor_fen": above,
        "quota_split_farmers": [d.farmer for d in split],
        "unpriced_lots": unpriced,
        "reject_lots": grades[Grade.REJECT.value],
        "alarms": len(alarms),
    }
