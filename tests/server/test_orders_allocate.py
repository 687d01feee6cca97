"""The FEFO allocation (server/orders/allocate.py) against DESIGN's rule, by hypothesis.

Pure: no database. Each example replays the fills in line order over a copy of the stock
and checks every line against the rule stated independently here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.orders.allocate import GRADE_RANK, LineRequest, StockLot, allocate

T0 = datetime(2026, 3, 1, tzinfo=UTC)
GRADES = list(GRADE_RANK)
PRODUCTS = ["strawberry", "ruoye"]

lot_st = st.builds(
    lambda n, product, grade, net_g, life, minutes: StockLot(
        lot_id=f"lot-{n:04d}",
        product=product,
        grade=grade,
        net_g=net_g,
        remaining_shelf_life_h=life,
        intake_at=T0 + timedelta(minutes=minutes),
    ),
    st.integers(0, 9999),
    st.sampled_from(PRODUCTS),
    st.sampled_from(GRADES),
    st.integers(1, 20_000),
    # few distinct values, so ties on shelf life (and intake) are exercised
    st.sampled_from([-5.0, 0.0, 0.5, 12.0, 12.0, 48.0, 100.0, 168.0]),
    st.integers(0, 5),
)
stock_st = st.lists(lot_st, max_size=40, unique_by=lambda lot: lot.lot_id)
line_st = st.builds(
    lambda product, grade, qty, overfill, floor: (product, grade, qty, overfill, floor),
    st.sampled_from(PRODUCTS),
    st.sampled_from(GRADES),
    st.integers(0, 60_000),
    st.booleans(),
    st.sampled_from([None, None, 0.0, 12.0, 50.0]),
)
lines_st = st.lists(line_st, max_size=8)


def _lines(raw: list[tuple[str, str, int, bool, float | None]]) -> list[LineRequest]:
    return [
        LineRequest(f"line-{k}", product, grade, qty, allow_overfill=over, min_shelf_life_h=fl)
        for k, (product, grade, qty, over, fl) in enumerate(raw)
    ]


@settings(max_examples=400, deadline=None)
@given(stock=stock_st, raw=lines_st, split=st.booleans())
def test_fills_follow_the_rule(stock: list[StockLot], raw: list, split: bool) -> None:
    lines = _lines(raw)
    fills = allocate(lines, list(stock), split_lots=split)
    assert [f.line_id for f in fills] == [line.line_id for line in lines]
    by_id = {lot.lot_id: lot for lot in stock}
    left = {lot.lot_id: lot.net_g for lot in stock}  # what each lot still has
    for line, fill in zip(lines, fills, strict=True):
        available = {i for i, g in left.items() if g > 0 and line.takes(by_id[i])}
        ids = [p.lot_id for p in fill.picks]
        assert len(ids) == len(set(ids)), "a lot twice in one line"
        for p in fill.picks:
            lot = by_id[p.lot_id]
            # never another product, a lower grade, or a lot past its shelf life
            assert lot.product == line.product
            assert GRADE_RANK[lot.grade] >= GRADE_RANK[line.min_grade]
            assert lot.remaining_shelf_life_h > 0
            assert lot.remaining_shelf_life_h > (line.min_shelf_life_h or 0.0)
            assert p.lot_id in available, "a lot used up by an earlier line"
            assert 0 < p.grams <= left[p.lot_id]
            if p.whole:
                assert p.grams == left[p.lot_id]
            else:
                assert split, "a split lot without the station allowing it"
        # first expiring first out: every eligible lot left unused is later than every
        # lot taken (by shelf life, then intake, then id), and taken in that order
        keys = [by_id[i].fefo_key() for i in ids]
        assert keys == sorted(keys)
        unused = [by_id[i].fefo_key() for i in available - set(ids)]
        if keys and unused:
            assert min(unused) > max(keys)
        # quantities add up: whole lots while they fit; only the last may overfill or split
        total = fill.filled_g
        assert total == sum(p.grams for p in fill.picks)
        if line.quantity_g <= 0:
            assert fill.picks == ()
        for k, p in enumerate(fill.picks[:-1]):
            assert p.whole
            assert sum(q.grams for q in fill.picks[: k + 1]) < line.quantity_g
        if total > line.quantity_g:
            assert line.allow_overfill
            assert fill.picks[-1].whole
        if fill.picks and not fill.picks[-1].whole:
            assert total == line.quantity_g
            assert not line.allow_overfill
        if total < line.quantity_g and unused:
            # short with stock left: the oldest eligible lot did not fit and could not go
            oldest = min(available - set(ids), key=lambda i: by_id[i].fefo_key())
            assert left[oldest] > line.quantity_g - total
            assert not split
            assert not line.allow_overfill
        assert fill.short_g == max(0, line.quantity_g - total)
        for p in fill.picks:
            left[p.lot_id] -= p.grams
    # no lot gives more than it had, across lines
    assert all(g >= 0 for g in left.values())


def test_worked_example() -> None:
    """Three class_i-or-better lots; the oldest first, the fresh extra lot last."""
    mk = lambda i, g, life, net: StockLot(i, "strawberry", g, net, life, T0)  # noqa: E731
    stock = [
        mk("a", "extra", 100.0, 4000),
        mk("b", "class_i", 20.0, 3000),
        mk("c", "class_ii", 5.0, 9000),  # below the ordered grade
        mk("d", "class_i", 0.0, 9000),  # past its shelf life
        mk("e", "extra", 20.0, 2500),  # ties b on shelf life: id decides
    ]
    line = LineRequest("o1", "strawberry", "class_i", 6000)
    (fill,) = allocate([line], stock)
    assert [(p.lot_id, p.grams) for p in fill.picks] == [("b", 3000), ("e", 2500)]
    assert fill.short_g == 500  # lot a (4 kg) does not fit the last 0.5 kg
    (fill,) = allocate([line], stock, split_lots=True)
    assert [(p.lot_id, p.grams, p.whole) for p in fill.picks][-1] == ("a", 500, False)
    over = LineRequest("o1", "strawberry", "class_i", 6000, allow_overfill=True)
    (fill,) = allocate([over], stock)
    assert fill.filled_g == 9500
    assert fill.short_g == 0
    # a split remainder stays in stock for the next line, at its place
    two = [line, LineRequest("o2", "strawberry", "extra", 3500)]
    first, second = allocate(two, stock, split_lots=True)
    assert [(p.lot_id, p.grams) for p in second.picks] == [("a", 3500)]
    # the buyer's minimum shelf life keeps lots b and e out
    picky = LineRequest("o3", "strawberry", "class_i", 4000, min_shelf_life_h=20.0)
    (fill,) = allocate([picky], stock)
    assert [(p.lot_id, p.grams) for p in fill.picks] == [("a", 4000)]


def _literal(lines: list[LineRequest], stock: list[StockLot], split: bool) -> list[list]:
    """DESIGN's rule word for word: per line, filter, sort by the FEFO key, walk."""
    left = {lot.lot_id: lot.net_g for lot in stock}
    out = []
    for line in lines:
        need, picks = line.quantity_g, []
        for lot in sorted((x for x in stock if left[x.lot_id] > 0 and line.takes(x)),
                          key=StockLot.fefo_key):  # fmt: skip
            if need <= 0:
                break
            have = left[lot.lot_id]
            if have <= need or line.allow_overfill:
                picks.append((lot.lot_id, have, True))
                left[lot.lot_id], need = 0, need - have
            elif split:
                picks.append((lot.lot_id, need, False))
                left[lot.lot_id], need = have - need, 0
            else:
                break
        out.append(picks)
    return out


@settings(max_examples=300, deadline=None)
@given(stock=stock_st, raw=lines_st, split=st.booleans())
def test_same_fills_as_the_rule_read_literally(
    stock: list[StockLot], raw: list, split: bool
) -> None:
    lines = _lines(raw)
    fills = allocate(lines, list(stock), split_lots=split)
    got = [[(p.lot_id, p.grams, p.whole) for p in f.picks] for f in fills]
    assert got == _literal(lines, stock, split)
