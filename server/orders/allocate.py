"""First-expiring-first-out allocation of order lines over lots in stock (pure, no I/O).

DESIGN.md "Cold chain", Stock (normative for picking): a line is filled from lots of its
product whose grade is at least the ordered one and whose remaining shelf life is above
zero (and above the buyer's minimum, if set), taken in order of remaining shelf life, then
intake time, then lot id; whole lots while they fit, the last one only if the line allows
overfill (the whole lot goes) or the station allows splitting a lot (the part that fills
the line goes, the rest stays in stock at its place). A lot that does not fit otherwise
ends the line short: skipping it for a fresher, smaller one would leave an older eligible
lot behind.

Lines are filled in the order given (the caller's priority). The lots are indexed once by
product × grade in FEFO order; each line merges its eligible grade lists with a heap from
the first lot above its shelf-life floor (a bisection), and consumed lots are skipped by a
"next unconsumed" pointer forest, so n lines over N lots cost O(N log N + picks·log g)
instead of a sort per line.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

#: Best first: a line for ``class_i`` may take ``extra`` and ``class_i`` lots.
GRADE_RANK: dict[str, int] = {"extra": 3, "class_i": 2, "class_ii": 1, "reject": 0}


@dataclass(frozen=True, slots=True)
class StockLot:
    """A lot in stock: what is left of it and how long it keeps."""

    lot_id: str
    product: str
    grade: str
    net_g: int  # grams still available (a split lot's remainder)
    remaining_shelf_life_h: float
    intake_at: datetime

    def fefo_key(self) -> tuple[float, datetime, str]:
        return (self.remaining_shelf_life_h, self.intake_at, self.lot_id)


@dataclass(frozen=True, slots=True)
class LineRequest:
    """One order line still to fill."""

    line_id: str
    product: str
    min_grade: str
    quantity_g: int
    allow_overfill: bool = False
    min_shelf_life_h: float | None = None  # the buyer's minimum, if set

    def takes(self, lot: StockLot) -> bool:
        """Whether ``lot`` is eligible for this line (product, grade, shelf life)."""
        floor = max(0.0, self.min_shelf_life_h or 0.0)
        return (
            lot.product == self.product
            and GRADE_RANK[lot.grade] >= GRADE_RANK[self.min_grade]
            and lot.remaining_shelf_life_h > floor
        )


@dataclass(frozen=True, slots=True)
class Pick:
    lot_id: str
    grams: int
    whole: bool  # the lot's whole remainder (False: a split lot, the rest stays)


@dataclass(frozen=True, slots=True)
class LineFill:
    line_id: str
    quantity_g: int
    picks: tuple[Pick, ...] = field(default=())

    @property
    def filled_g(self) -> int:
        return sum(p.grams for p in self.picks)

    @property
    def short_g(self) -> int:
        return max(0, self.quantity_g - self.filled_g)


class _Shelf:
    """The lots of one product and grade in FEFO order, with what is left of each."""

    __slots__ = ("keys", "lives", "lots", "left", "nxt")

    def __init__(self, lots: list[StockLot]) -> None:
        lots.sort(key=StockLot.fefo_key)
        self.lots = lots
        self.keys = [lot.fefo_key() for lot in lots]
        self.lives = [lot.remaining_shelf_life_h for lot in lots]
        self.left = [lot.net_g for lot in lots]
        # nxt[i] == i: lot i unconsumed; else a pointer toward the next unconsumed one
        # (len(lots) is the end sentinel).
        self.nxt = list(range(len(lots) + 1))

    def first(self, i: int) -> int:
        """The first unconsumed lot at or after ``i`` (path halving keeps chains short)."""
        nxt = self.nxt
        while nxt[i] != i:
            nxt[i] = nxt[nxt[i]]
            i = nxt[i]
        return i

    def consume(self, i: int) -> None:
        self.left[i] = 0
        self.nxt[i] = i + 1


def allocate(
    lines: Sequence[LineRequest], lots: Iterable[StockLot], *, split_lots: bool = False
) -> list[LineFill]:
    """Fill ``lines`` in order from ``lots`` (FEFO, DESIGN's rule); one fill per line.

    No lot is used twice; a split lot's remainder stays available to later lines.
    """
    grouped: dict[tuple[str, str], list[StockLot]] = defaultdict(list)
    for lot in lots:
        if lot.remaining_shelf_life_h > 0 and lot.net_g > 0:
            grouped[(lot.product, lot.grade)].append(lot)
    shelves = {k: _Shelf(v) for k, v in grouped.items()}
    return [_fill(line, shelves, split_lots) for line in lines]


def _fill(line: LineRequest, shelves: dict[tuple[str, str], _Shelf], split: bool) -> LineFill:
    need = line.quantity_g
    if need <= 0:
        return LineFill(line.line_id, line.quantity_g)
    floor = max(0.0, line.min_shelf_life_h or 0.0)
    least = GRADE_RANK[line.min_grade]
    heap: list[tuple[tuple[float, datetime, str], int, int]] = []
    eligible = [
        shelves[(line.product, g)]
        for g, rank in GRADE_RANK.items()
        if rank >= least and (line.product, g) in shelves
    ]
    for n, shelf in enumerate(eligible):
        i = shelf.first(bisect_right(shelf.lives, floor))
        if i < len(shelf.lots):
            heap.append((shelf.keys[i], n, i))
    heapq.heapify(heap)
    picks: list[Pick] = []
    while heap and need > 0:
        _key, n, i = heapq.heappop(heap)
        shelf = eligible[n]
        grams = shelf.left[i]
        lot_id = shelf.lots[i].lot_id
        if grams <= need or line.allow_overfill:
            picks.append(Pick(lot_id, grams, whole=True))
            shelf.consume(i)
            need -= grams
            j = shelf.first(i + 1)
            if j < len(shelf.lots):
                heapq.heappush(heap, (shelf.keys[j], n, j))
        elif split:
            picks.append(Pick(lot_id, need, whole=False))
            shelf.left[i] = grams - need
            need = 0
        else:
            break  # the oldest eligible lot does not fit: the line stays short
    return LineFill(line.line_id, line.quantity_g, tuple(picks))
