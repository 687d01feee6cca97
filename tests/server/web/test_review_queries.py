"""The read side of the review pages against the state machine's own summary, on SQLite
and PostgreSQL: the same lines and totals, paged, with adjustment-only lines."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gongfang.settings import ServerSettings
from server.core.db import session_scope
from server.core.errors import NotFound
from server.payouts import queries, service
from server.payouts import review as pages
from tests.server.conftest import SECRET
from tests.server.web.review_seed import COOP, F1, F9, seed_cooperative


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> ServerSettings:
    return ServerSettings.load(
        database_url=db_url, secret_key=SECRET, photos_dir=tmp_path / "photos"
    )


def _check(s: Session, run: Any) -> None:
    summary = queries.summarize(session=s, run=run)
    every = pages.run_review(session=s, run=run, offset=0, limit=100)
    assert [
        (ln.farmer_id, ln.lots, ln.net_g, ln.amount_fen, ln.adjustments_fen) for ln in every.lines
    ] == [(ln.farmer, ln.lots, ln.net_g, ln.amount_fen, ln.adjustments_fen) for ln in summary.lines]
    assert every.totals.total_fen == sum(ln.total_fen for ln in summary.lines)
    assert every.late_lots == len(summary.late)
    assert every.unpriced_lots == len(summary.unpriced)
    # One line a page: each page carries the totals of all lines; past the end too.
    for offset in range(len(summary.lines) + 2):
        page = pages.run_review(session=s, run=run, offset=offset, limit=1)
        assert page.totals == every.totals
        assert [ln.farmer_id for ln in page.lines] == [
            ln.farmer for ln in summary.lines[offset : offset + 1]
        ]


def test_review_lines_match_the_summary_draft_and_approved(
    sessions: Any, settings: ServerSettings, password_hash: str
) -> None:
    with session_scope(sessions) as s:
        seed_cooperative(s, photos_dir=settings.photos_dir, password_hash=password_hash)
        run = service.create_run(
            session=s,
            cooperative_id=COOP,
            period_from=date(2026, 3, 5),
            period_to=date(2026, 3, 31),
            actor="reviewer1",
        )
        # F9 has no priced lot: an adjustment alone gives it a line.
        service.add_adjustment(
            session=s, run=run, farmer_id=F9, amount_fen=500, reason="补贴", actor="r"
        )
        service.add_adjustment(
            session=s, run=run, farmer_id=F1, amount_fen=-250, reason="扣", actor="r"
        )
        review = pages.run_review(session=s, run=run, offset=0, limit=100)
        assert [(ln.farmer_id, ln.name, ln.low_income) for ln in review.lines] == [
            (F1, "王", True),
            (F9, "陈", False),
        ]
        assert review.late_lots == 1  # lot 1 of 2 March, before the period
        assert review.unpriced_lots == 1
        assert not review.changed
        _check(s, run)
        service.approve(session=s, run=run, actor="reviewer2")
        _check(s, run)
        scope_other = "coop-b"
        with pytest.raises(NotFound):
            pages.scoped_run(session=s, run_id=run.id, scope=scope_other)
        rows = pages.run_rows(session=s, scope=COOP)
        assert [(r.run.id, r.lots, r.total_fen) for r in rows] == [(run.id, 3, 8350 + 250)]
