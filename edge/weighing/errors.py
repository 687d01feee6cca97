"""Weighing failures; messages are Chinese first, then English."""

from __future__ import annotations


class WeighingError(Exception):
    """Base of every weighing failure."""


class UnknownCrateError(WeighingError, KeyError):
    """A crate type that is not in the tare table."""

    def __init__(self, crate: str) -> None:
        super().__init__(f"未知的筐型 / unknown crate type: {crate!r}")
        self.crate = crate

    def __str__(self) -> str:  # KeyError would quote the whole message again
        return str(self.args[0])


class BadTareError(WeighingError, ValueError):
    """A tare table entry that is not a sensible weight."""


class NetNotPositiveError(WeighingError, ValueError):
    """Gross minus tare is zero or less: the crate is empty or the tare is wrong."""

    def __init__(self, gross_g: int, tare_g: int) -> None:
        super().__init__(
            f"净重必须大于零（毛重 {gross_g} g − 皮重 {tare_g} g）/ "
            f"net weight must be > 0 (gross {gross_g} g − tare {tare_g} g)"
        )
        self.gross_g = gross_g
        self.tare_g = tare_g
