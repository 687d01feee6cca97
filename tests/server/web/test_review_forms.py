"""The page form parsers: 元 typed as text become exact integer fen, or a message key."""

from __future__ import annotations

from datetime import date

import pytest

from server.web.forms import FieldError, parse_date, parse_reason, parse_yuan
from server.web.session import safe_next


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("-12.50", -1250),
        ("12.5", 1250),
        ("0.01", 1),
        ("+3", 300),
        (" 1,234.56 ", 123456),
        ("－１２．５０", -1250),  # full-width, as a Chinese input method types it
        ("−0.10", -10),  # U+2212 minus
        ("0", 0),
        ("1000000.00", 100_000_000),
    ],
)
def test_yuan_text_becomes_exact_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "form.err.required"),
        ("   ", "form.err.required"),
        ("12.345", "form.err.yuan_format"),
        ("1e3", "form.err.yuan_format"),
        ("true", "form.err.yuan_format"),
        ("12.", "form.err.yuan_format"),
        (".5", "form.err.yuan_format"),
        ("--1", "form.err.yuan_format"),
        ("NaN", "form.err.yuan_format"),
        ("1000000.01", "form.err.too_large"),
    ],
)
def test_bad_yuan_text_names_the_message(text: str, key: str) -> None:
    with pytest.raises(FieldError) as info:
        parse_yuan(text)
    assert info.value.key == key


def test_a_price_cannot_be_negative() -> None:
    with pytest.raises(FieldError) as info:
        parse_yuan("-1", allow_negative=False)
    assert info.value.key == "form.err.not_negative"
    assert parse_yuan("12.40", allow_negative=False, max_fen=10_000_000) == 1240


def test_dates_and_reasons() -> None:
    assert parse_date("2026-03-01") == date(2026, 3, 1)
    for bad in ("2026-02-30", "2026/03/01", "20260301", "2026-3-1"):
        with pytest.raises(FieldError):
            parse_date(bad)
    assert parse_reason("  烂果  ") == "烂果"
    with pytest.raises(FieldError):
        parse_reason(" \t")
    with pytest.raises(FieldError):
        parse_reason("x" * 501)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/coop/runs/3?page=2", "/coop/runs/3?page=2"),
        ("//evil.example/", "/coop/runs"),
        ("https://evil.example/", "/coop/runs"),
        ("/\\evil.example", "/coop/runs"),
        ("", "/coop/runs"),
        (None, "/coop/runs"),
    ],
)
def test_sign_in_goes_back_only_to_a_local_path(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
