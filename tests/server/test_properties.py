"""Acceptance 2 (hypothesis): a run's lines add up to the lots' rounded amounts, and the
daily aggregates always equal a recount from the raw lots.

Each example gets its own cooperative and station inside the test's one database, so the
PostgreSQL variant reuses a single database for all examples.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gongfang.wire import GradedBy, LotRecord
from server.aggregates.service import recount, stored
from server.core.db import session_scope
from server.importer import import_bundle
from server.lots.models import Lot, LotPart
from server.lots.service import ingest_lots
from server.payouts.queries import summarize
from server.payouts.service import create_run

START = datetime(2026, 3, 1, tzinfo=UTC)
GRADES = ["extra", "class_i", "class_ii", "reject"]

lot_st = st.tuples(
    st.integers(0, 3),  # farmer index (3 = no contract)
    st.sampled_from(GRADES),
    st.integers(1, 60_000),  # net grams
    st.integers(0, 20 * 24 * 60),  # minutes after START
)
batches_st = st.lists(st.lists(lot_st, min_size=1, max_size=12), min_size=1, max_size=4)
market_st = st.lists(
    st.tuples(st.sampled_from(GRADES[:3]), st.integers(0, 19), st.integers(100, 3000)),
    max_size=8,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=batches_st,
    prices=market_st,
    quota=st.one_of(st.none(), st.integers(1, 80_000)),
    premium=st.sampled_from(["0", "20", "22.5", "25"]),
    floors=st.fixed_dictionaries({}, optional={g: st.integers(1, 3000) for g in GRADES[:3]}),
)
def test_lines_sum_to_lot_amounts_and_aggregates_equal_recount(
    sessions, batches, prices, quota, premium, floors
) -> None:
    tag = uuid.uuid4().hex[:8]
    coop, station = f"c{tag}", f"s{tag}"
    farmers = [f"{tag}-F{i}" for i in range(4)]
    bundle = {
        "cooperatives": [{"id": coop, "name": "c"}],
        "stations": [{"id": station, "cooperative": coop, "name": "s"}],
        "farmers": [{"id": f, "name": f, "cooperative": coop} for f in farmers],
        "contracts": [
            {
                "id": f"{f}-c",
                "farmer": f,
                "product": "strawberry",
                "signed_on": "2026-01-01",
                "valid_from": "2026-01-01",
                "valid_to": "2026-12-31",
                "floor_fen_per_kg": floors,
                "premium_pct": premium,
                "quota_g": quota,
                "reject_fen_per_kg": 7,
            }
            for f in farmers[:3]
        ],
        "market_prices": [
            {
                "cooperative": coop,
                "product": "strawberry",
                "grade": g,
                "date": (date(2026, 3, 1) + timedelta(days=d)).isoformat(),
                "fen_per_kg": fen,
            }
            for g, d, fen in {(g, d): (g, d, fen) for g, d, fen in prices}.values()
        ],
    }
    with session_scope(sessions) as s:
        import_bundle(session=s, doc=bundle)
    graded = GradedBy(kind="model", model_name="m", model_version="1")
    for batch in batches:
        records = [
            LotRecord(
                id=uuid.uuid4(),
                station=station,
                farmer=farmers[fi],
                product="strawberry",
                grade=grade,
                gross_g=net + 100,
                tare_g=100,
                net_g=net,
                graded_by=graded,
                captured_at=START + timedelta(minutes=minute),
            )
            for fi, grade, net, minute in batch
        ]
        with session_scope(sessions) as s:
            ingest_lots(session=s, lots=records)

    end = date(2026, 3, 15)
    with session_scope(sessions) as s:
        run = create_run(
            session=s, cooperative_id=coop, period_from=date(
                2026, 3, 1
            ), period_to=end, actor="prop"
        )
        summary = summarize(session=s, run=run)
        lots = list(s.scalars(select(Lot).where(Lot.cooperative_id == coop)))
        part_sums = {
            r[0]: int(r[1])
            for r in s.execute(
                select(LotPart.lot_id, func.sum(LotPart.amount_fen))
                .join(Lot, Lot.id == LotPart.lot_id)
                .where(Lot.cooperative_id == coop)
                .group_by(LotPart.lot_id)
            )
        }
        # 1. Each priced lot's amount is the sum of its rounded parts; unpriced has none.
        for lot in lots:
            if lot.status == "priced":
                assert lot.amount_fen == part_sums[lot.id]
            else:
                assert lot.amount_fen is None
                assert lot.id not in part_sums
        # 2. The run's lines add up to the rounded amounts of the priced lots it pays.
        paid = [x for x in lots if x.status == "priced" and x.intake_date <= end]
        assert sum(line.amount_fen for line in summary.lines) == sum(
            x.amount_fen or 0 for x in paid
        )
        assert sum(line.lots for line in summary.lines) == len(paid)
        assert sum(line.net_g for line in summary.lines) == sum(x.net_g for x in paid)
        for line in summary.lines:
            mine = [x for x in paid if x.farmer_id == line.farmer]
            assert line.amount_fen == sum(x.amount_fen or 0 for x in mine)
        unpriced = {x.id for x in lots if x.status == "unpriced" and x.intake_date <= end}
        assert set(summary.unpriced) == unpriced
        # 3. No lot beyond what the quota allows was priced at the contract's terms.
        if quota is not None:
            for f in farmers[:3]:
                within = sum(
                    p.net_g
                    for p in s.scalars(
                        select(LotPart)
                        .join(Lot, Lot.id == LotPart.lot_id)
                        .where(Lot.farmer_id == f, LotPart.basis == "contract")
                    )
                )
                assert within <= quota
        # 4. Aggregates equal a recount from the raw lots.
        assert stored(session=s, station_ids=[station]) == recount(session=s, station_ids=[station])
