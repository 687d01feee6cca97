"""The bank batch of an approved run: one row per farmer line, as CSV or XLSX.

The one place a farmer's sealed account number is opened; text cells go through the
formula guard (:mod:`server.payouts.cells`), numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.money import fen_to_yuan_str, grams_to_kg_str
from server.farmers.models import Farmer
from server.farmers.sealed import FieldCipher, bank_account_of
from server.payouts.cells import safe_row
from server.payouts.models import PayoutRun
from server.payouts.queries import summarize
from server.payouts.service import check_exportable, mark_exported

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BANK_HEADER = [
    "农户编号 farmer",
    "姓名 name",
    "银行账号 bank_account",
    "批次 lots",
    "净重kg net_kg",
    "货款 amount_yuan",
    "调整 adjustments_yuan",
    "应付 total_yuan",
    "应付(分) total_fen",
]


def bank_rows(*, session: Session, run: PayoutRun, cipher: FieldCipher) -> list[list[str | int]]:
    """One row per line with a positive total: what the bank batch pays.

    The one place a farmer's sealed account number is opened (a wrong field key:
    :class:`~server.farmers.sealed.FieldKeyError`, and nothing is exported).
    """
    summary = summarize(session=session, run=run)
    farmers = {
        f.id: f
        for f in session.scalars(
            select(Farmer).where(Farmer.id.in_([ln.farmer for ln in summary.lines]))
        )
    }
    rows: list[list[str | int]] = []
    for line in summary.lines:
        f = farmers.get(line.farmer)
        rows.append(
            [
                line.farmer,
                f.name if f else "",
                (bank_account_of(farmer=f, cipher=cipher) or "") if f else "",
                line.lots,
                grams_to_kg_str(line.net_g, 3),
                fen_to_yuan_str(line.amount_fen),
                fen_to_yuan_str(line.adjustments_fen),
                fen_to_yuan_str(line.total_fen),
                line.total_fen,
            ]
        )
    return rows


def export_csv(*, session: Session, run: PayoutRun, actor: str, cipher: FieldCipher) -> str:
    check_exportable(run)  # before any account is opened
    rows = bank_rows(session=session, run=run, cipher=cipher)  # then: a wrong key marks nothing
    mark_exported(session=session, run=run, actor=actor, fmt="csv")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(BANK_HEADER)
    writer.writerows(safe_row(row) for row in rows)
    return "\ufeff" + buf.getvalue()  # BOM: spreadsheet programs then read the UTF-8 names


def export_xlsx(*, session: Session, run: PayoutRun, actor: str, cipher: FieldCipher) -> bytes:
    from openpyxl import Workbook

    check_exportable(run)
    rows = bank_rows(session=session, run=run, cipher=cipher)
    mark_exported(session=session, run=run, actor=actor, fmt="xlsx")
    wb = Workbook()
    ws = wb.create_sheet(index=0)
    wb.remove(wb.worksheets[1])  # the default sheet
    ws.title = f"run-{run.id}"
    ws.append(BANK_HEADER)
    for row in rows:
        ws.append(safe_row(row))  # openpyxl makes "=…" a formula; "'=…" stays text
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class BankFile:
    """The bank batch as a download: its bytes, media type and file name."""

    body: bytes
    media_type: str
    filename: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="{self.filename}"'}


def bank_file(
    *,
    session: Session,
    run: PayoutRun,
    actor: str,
    cipher: FieldCipher,
    fmt: Literal["csv", "xlsx"],
) -> BankFile:
    """The bank batch of an approved run as a CSV or XLSX file (the run becomes
    ``exported``), as the API and the run page hand it out."""
    filename = f"payout-{run.cooperative_id}-{run.id}.{fmt}"
    if fmt == "csv":
        text = export_csv(session=session, run=run, actor=actor, cipher=cipher)
        return BankFile(text.encode("utf-8"), "text/csv; charset=utf-8", filename)
    data = export_xlsx(session=session, run=run, actor=actor, cipher=cipher)
    return BankFile(data, XLSX_TYPE, filename)
