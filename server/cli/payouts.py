"""``gongfang payouts run | approve | export | paid``: a payout run from the command line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from server.cli.common import DbOpt, fail, refusing

if TYPE_CHECKING:
    from server.payouts.queries import RunSummary

RunIdArg = Annotated[int, typer.Argument(help="结算单编号 / run id")]


def run(
    cooperative: Annotated[str, typer.Option(help="合作社编号 / cooperative id")],
    date_from: Annotated[str, typer.Option("--from", help="起始日期 / first day, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="截止日期 / last day, YYYY-MM-DD")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
    by: Annotated[str, typer.Option(help="操作人 / who runs it (audit log)")] = "cli",
    db: DbOpt = None,
) -> None:
    """生成某期间的结算草稿并打印各农户应付 / Create a draft payout run for a period and
    print its lines."""
    from server.payouts.queries import summarize
    from server.payouts.service import create_run

    try:
        start, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
    except ValueError as exc:
        raise fail(f"日期格式应为 YYYY-MM-DD / dates must be YYYY-MM-DD: {exc}", 2) from None
    with refusing(db) as session:
        r = create_run(
            session=session, cooperative_id=cooperative, period_from=start, period_to=end, actor=by
        )
        summary = summarize(session=session, run=r)
        doc = summary.as_json()
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    _print_run(summary, cooperative, start, end)


def _print_run(summary: RunSummary, cooperative: str, start: date, end: date) -> None:
    from rich.console import Console
    from rich.table import Table

    from gongfang.money import fen_to_yuan_str, grams_to_kg_str

    table = Table(title=f"结算单 Payout run {summary.run.id} · {cooperative} · {start} – {end}")
    for col in ("农户 farmer", "批次 lots", "净重 kg", "货款 元", "调整 元", "应付 元"):
        table.add_column(col, justify="left" if col.startswith("农户") else "right")
    for line in summary.lines:
        table.add_row(
            line.farmer,
            str(line.lots),
            grams_to_kg_str(line.net_g, 3),
            fen_to_yuan_str(line.amount_fen),
            fen_to_yuan_str(line.adjustments_fen),
            fen_to_yuan_str(line.total_fen),
        )
    total = sum(line.total_fen for line in summary.lines)
    table.add_row("合计 total", "", "", "", "", fen_to_yuan_str(total))
    console = Console()
    console.print(table)
    if summary.unpriced:
        ids = ", ".join(str(i) for i in summary.unpriced)
        console.print(f"待定价批次 unpriced lots ({len(summary.unpriced)}): {ids}")
    if summary.late:
        ids = ", ".join(str(i) for i in summary.late)
        console.print(f"迟到批次 late lots ({len(summary.late)}): {ids}")


def approve(
    run_id: RunIdArg,
    by: Annotated[str, typer.Option("--by", help="审批人姓名（记入审计日志）/ approver's name")],
    db: DbOpt = None,
) -> None:
    """审批结算草稿（姓名记入审计日志）/ Approve a draft run (the name goes into the audit log)."""
    from server.payouts.queries import get_run
    from server.payouts.service import approve as approve_run

    with refusing(db, with_detail=True) as session:  # the detail names the clashing lots
        approve_run(session=session, run=get_run(session=session, run_id=run_id), actor=by)
    typer.echo(f"结算单 {run_id} 已审批 / run {run_id} approved by {by}")


def export(
    run_id: RunIdArg,
    out: Annotated[Path, typer.Option("--out", help="输出文件 .csv 或 .xlsx / output file")],
    by: Annotated[str, typer.Option("--by", help="操作人 / who exports it")] = "cli",
    db: DbOpt = None,
) -> None:
    """导出已审批结算单的银行批量文件 / Export an approved run's bank batch as CSV or XLSX
    (by the file's suffix)."""
    from server.cli.fields import field_cipher
    from server.payouts.export import export_csv, export_xlsx
    from server.payouts.queries import get_run

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise fail("输出文件须为 .csv 或 .xlsx / the output must end in .csv or .xlsx", 2)
    cipher = field_cipher()  # the bank batch opens the account numbers
    with refusing(db) as session:
        r = get_run(session=session, run_id=run_id)
        if suffix == ".csv":
            text = export_csv(session=session, run=r, actor=by, cipher=cipher)
            out.write_text(text, encoding="utf-8")
        else:
            out.write_bytes(export_xlsx(session=session, run=r, actor=by, cipher=cipher))
    typer.echo(f"已导出 / exported: {out}")


def paid(
    run_id: RunIdArg,
    by: Annotated[str, typer.Option("--by", help="操作人 / who marks it")],
    db: DbOpt = None,
) -> None:
    """标记已导出的结算单为已付款 / Mark an exported run as paid."""
    from server.payouts.queries import get_run
    from server.payouts.service import mark_paid

    with refusing(db) as session:
        mark_paid(session=session, run=get_run(session=session, run_id=run_id), actor=by)
    typer.echo(f"结算单 {run_id} 已付 / run {run_id} marked paid")
