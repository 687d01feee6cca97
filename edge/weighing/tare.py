"""Crate tare table: crate type → empty-crate weight in grams, and net-weight computation."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType

from edge.weighing.errors import BadTareError, NetNotPositiveError, UnknownCrateError
from gongfang.settings import EdgeLane
from gongfang.wire import MAX_GROSS_G

log = logging.getLogger(__name__)

#: Typical crates at a station (weighed empty; a station overrides them in its settings).
DEFAULT_CRATES: Mapping[str, int] = MappingProxyType(
    {
        "strawberry_tray": 350,  # shallow plastic tray holding about 2.5 kg of berries
        "strawberry_crate": 900,  # stacking crate, 4 trays' worth
        "ruoye_bag": 150,  # woven bag of 箬叶 bundles
        "ruoye_basket": 1200,  # bamboo basket for door-to-door buying
        "none": 0,  # weighed without a crate
    }
)


class CrateTare:
    """A validated tare table; ``net_g`` refuses a non-positive net weight."""

    def __init__(self, table: Mapping[str, int] | None = None) -> None:
        table = DEFAULT_CRATES if table is None else table
        for crate, tare in table.items():
            if not isinstance(tare, int) or isinstance(tare, bool) or not 0 <= tare < MAX_GROSS_G:
                raise BadTareError(
                    f"筐型 {crate!r} 的皮重无效 / bad tare for crate type {crate!r}: {tare!r}"
                )
        self._table = dict(table)

    def __contains__(self, crate: object) -> bool:
        return crate in self._table

    def crates(self) -> dict[str, int]:
        return dict(self._table)

    def tare_g(self, crate: str) -> int:
        try:
            return self._table[crate]
        except KeyError:
            raise UnknownCrateError(crate) from None

    def net_g(self, gross_g: int, crate: str | None = None, *, tare_g: int | None = None) -> int:
        """Net grams of a gross weight, by crate type or an explicit tare (exactly one)."""
        if (crate is None) == (tare_g is None):
            raise ValueError("give exactly one of crate and tare_g")
        tare = self.tare_g(crate) if crate is not None else int(tare_g or 0)
        return net_g(gross_g, tare)


def net_g(gross_g: int, tare: int) -> int:
    """``gross_g − tare``, which must be > 0 (an empty crate is not a lot)."""
    net = gross_g - tare
    if net <= 0:
        raise NetNotPositiveError(gross_g, tare)
    return net


_DEFAULT = CrateTare()


def tare_g(crate: str) -> int:
    """Tare of a crate type in the default table (raises :class:`UnknownCrateError`)."""
    return _DEFAULT.tare_g(crate)


def lane_tare_g(lane: EdgeLane) -> int:
    """The lane's crate tare: its crate type in the tare table, else its default tare (a
    crate type the table does not know is logged, not fatal: the lane still weighs)."""
    if lane.crate:
        try:
            return int(tare_g(lane.crate))
        except (KeyError, ValueError) as exc:
            log.warning(
                "crate type %r not usable (%s); using tare_g=%d", lane.crate, exc, lane.tare_g
            )
    return lane.tare_g
