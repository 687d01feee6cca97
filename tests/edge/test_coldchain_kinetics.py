"""Mean kinetic temperature and the Q10 shelf-life table."""

from __future__ import annotations

from datetime import date

import pytest

from edge.coldchain.kinetics import (
    daily_mkt,
    mean_kinetic_temperature,
    relative_shelf_life,
    shelf_life_used_h,
)


def test_mkt_matches_hand_computation() -> None:
    # Three hours at 1 °C and one at 13 °C, ΔH/R = 10,000 K:
    #   1 °C = 274.15 K: 10000 / 274.15 = 36.476382, e^−36.476382 = 1.440485e-16
    #  13 °C = 286.15 K: 10000 / 286.15 = 34.946706, e^−34.946706 = 6.650255e-16
    #   mean = (3 × 1.440485e-16 + 6.650255e-16) / 4 = 2.742928e-16
    #   ln(mean) = −35.832336 → T = 10000 / 35.832336 = 279.0775 K = 5.9275 °C
    # (the arithmetic mean is 4.0 °C: MKT weighs the warm hour more, as it should).
    assert mean_kinetic_temperature([1.0, 1.0, 1.0, 13.0]) == pytest.approx(5.9275, abs=1e-4)


def test_mkt_of_constant_is_that_constant_and_empty_is_an_error() -> None:
    assert mean_kinetic_temperature([2.0] * 1000) == pytest.approx(2.0, abs=1e-9)
    assert mean_kinetic_temperature([-20.0, 60.0]) > 20.0
    with pytest.raises(ValueError, match="at least one"):
        mean_kinetic_temperature([])


def test_daily_mkt_splits_by_shanghai_day() -> None:
    # 2026-03-01 15:30 UTC is 23:30 in Shanghai; 16:30 UTC is already 03-02 there.
    d1 = 1772379000000  # 2026-03-01T15:30:00Z
    d2 = d1 + 3600_000
    assert daily_mkt([(d1, 2.0), (d1 + 60_000, 2.0), (d2, 8.0)]) == {
        date(2026, 3, 1): pytest.approx(2.0),
        date(2026, 3, 2): pytest.approx(8.0),
    }


@pytest.mark.parametrize(
    ("temp", "rel"),
    [(-5, 1.0), (0, 1.0), (5, 0.665), (10, 0.33), (15, 0.23), (20, 0.13), (35, 0.055), (50, 0.04)],
)
def test_relative_shelf_life_interpolates_the_table(temp: float, rel: float) -> None:
    assert relative_shelf_life(temp) == pytest.approx(rel)


def test_shelf_life_used() -> None:
    # One hour at 0 °C uses 1 h; one hour at 10 °C uses 1 / 0.33 = 3.0303 h.
    assert shelf_life_used_h([(60, 0.0), (60, 10.0)]) == pytest.approx(1 + 1 / 0.33)
