"""Cells of payout tables: derived totals, and spreadsheet cells that cannot run.

Spreadsheet cells that cannot run: a text that a spreadsheet would read as a formula.

A cell starting with ``= + - @``, a tab or a carriage return is written as text with an
apostrophe in front (OWASP's CSV-injection advice), so ``=HYPERLINK(...)`` in a farmer's
name stays a name. Plain decimal amounts such as ``-12.50`` are numbers, not formulas,
and stay as they are; integers stay integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value: str | int) -> str | int:
    """``value`` as a spreadsheet may show it without evaluating anything."""
    if isinstance(value, int):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _DECIMAL.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: list[str | int]) -> list[str | int]:
    return [safe_cell(v) for v in row]


class Totalled:
    """A line's total: its lots' amount plus its adjustments (never stored, always derived)."""

    amount_fen: int
    adjustments_fen: int

    @property
    def total_fen(self) -> int:
        return self.amount_fen + self.adjustments_fen


@dataclass(frozen=True, kw_only=True)
class Figures(Totalled):
    """The figures of a payout line (or of several): lots, net weight, amount, adjustments."""

    lots: int
    net_g: int
    amount_fen: int
    adjustments_fen: int
