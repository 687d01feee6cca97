"""Crate tare table and net-weight validation."""

from __future__ import annotations

import pytest

from edge.weighing import tare
from edge.weighing.errors import BadTareError, NetNotPositiveError, UnknownCrateError


def test_default_table_and_net() -> None:
    table = tare.CrateTare()
    assert tare.tare_g("strawberry_tray") == table.tare_g("strawberry_tray") == 350
    assert table.net_g(2850, "strawberry_tray") == 2500
    assert table.net_g(2850, tare_g=850) == 2000
    assert "ruoye_bag" in table


def test_unknown_crate_is_a_key_error_with_a_bilingual_message() -> None:
    with pytest.raises(UnknownCrateError, match="未知的筐型 / unknown crate type") as exc:
        tare.tare_g("bucket")
    assert isinstance(exc.value, KeyError)


@pytest.mark.parametrize(("gross", "tare_g"), [(350, 350), (100, 350), (0, 0)])
def test_net_must_be_positive(gross: int, tare_g: int) -> None:
    with pytest.raises(NetNotPositiveError, match="净重必须大于零"):
        tare.net_g(gross, tare_g)


@pytest.mark.parametrize("bad", [-1, 2.5, True, "300", 10**9])
def test_bad_tare_rejected(bad: object) -> None:
    with pytest.raises(BadTareError):
        tare.CrateTare({"x": bad})  # type: ignore[dict-item]


def test_exactly_one_of_crate_and_tare() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        tare.CrateTare().net_g(1000)
    with pytest.raises(ValueError, match="exactly one"):
        tare.CrateTare().net_g(1000, "none", tare_g=0)
