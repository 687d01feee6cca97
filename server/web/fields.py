"""Strict parsers for the intake, contract, price and cold-chain forms (on top of
:mod:`server.web.forms`): text in, exact integers out, or the catalogue key of the message
shown next to the field. Never a float.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from server.web.forms import FieldError, parse_date, parse_yuan

_WIDE = str.maketrans("０１２３４５６７８９．－＋−", "0123456789.-+-")
_DECIMAL = re.compile(r"(\d{1,12})(?:\.(\d{1,3}))?")
_PERCENT = re.compile(r"(\d{1,4})(?:\.(\d{1,4}))?")
MAX_FEN_PER_KG = 10_000_000  # 100,000 元/kg: the same bound as the API
GRAMS_PER = {"kg": 1000, "jin": 500}


class FieldMessages(dict[str, str]):
    """Field → message key; a field without a message reads as "" (the templates run with
    StrictUndefined, and nothing is inserted, so an empty one stays falsy)."""

    def __missing__(self, key: str) -> str:
        return ""


def _clean(text: str) -> str:
    return text.strip().translate(_WIDE).replace(",", "").replace("，", "")


def parse_price(text: str) -> int:
    """A price typed in 元/kg (``"13.00"``, ``"13"``, ``"13.5"``) → integer fen/kg."""
    try:
        return parse_yuan(text, allow_negative=False, max_fen=MAX_FEN_PER_KG)
    except FieldError as exc:
        raise FieldError(
            {
                "form.err.yuan_format": "field.err.price_format",
                "form.err.not_negative": "field.err.price_negative",
                "form.err.too_large": "field.err.price_too_large",
            }.get(exc.key, exc.key)
        ) from None


def parse_optional_price(text: str) -> int | None:
    """Like :func:`parse_price`; an empty field is ``None`` (the term is left out)."""
    return None if not _clean(text) else parse_price(text)


def parse_weight(text: str, unit: str) -> int:
    """``"14000"`` kg (or 斤) → grams; at most three decimals, never negative."""
    value = _clean(text)
    if not value:
        raise FieldError("form.err.required")
    if unit not in GRAMS_PER:
        raise FieldError("field.err.unit")
    if value.startswith("-"):
        raise FieldError("field.err.weight_negative")
    m = _DECIMAL.fullmatch(value)
    if m is None:
        raise FieldError("field.err.weight_format")
    whole, frac = m.groups()
    milli = int(whole) * 1000 + int((frac or "").ljust(3, "0"))
    grams = milli * GRAMS_PER[unit]
    if grams % 1000:
        raise FieldError("field.err.weight_format")  # finer than a gram
    grams //= 1000
    if grams > 10**12:
        raise FieldError("field.err.weight_too_large")
    return grams


def parse_optional_weight(text: str, unit: str) -> int | None:
    return None if not _clean(text) else parse_weight(text, unit)


def parse_percent(text: str) -> str | None:
    """``"20"`` or ``"22.5"`` → the exact decimal string the contract keeps; empty → None."""
    value = _clean(text).removesuffix("%")
    if not value:
        return None
    if value.startswith("-"):
        raise FieldError("field.err.percent_negative")
    if _PERCENT.fullmatch(value) is None:
        raise FieldError("field.err.percent_format")
    dec = Decimal(value)
    if dec > 1000:
        raise FieldError("field.err.percent_format")
    return str(dec)


def parse_ident(text: str) -> str:
    """An id typed by a person: letters, digits and ``-_.``, at most 64."""
    value = text.strip()
    if not value:
        raise FieldError("form.err.required")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
        raise FieldError("field.err.ident")
    return value


def parse_range(
    first: str, last: str, *, max_days: int, errors: dict[str, str]
) -> tuple[date, date] | None:
    """Two date fields (``date_from``, ``date_to``) in order and at most ``max_days`` long;
    problems go into ``errors`` under the field's name."""
    start = end = None
    try:
        start = parse_date(first)
    except FieldError as exc:
        errors["date_from"] = exc.key
    try:
        end = parse_date(last)
    except FieldError as exc:
        errors["date_to"] = exc.key
    if start is None or end is None:
        return None
    if start > end:
        errors["date_to"] = "field.err.range_order"
        return None
    if (end - start).days + 1 > max_days:
        errors["date_to"] = "field.err.range_too_long"
        return None
    return start, end
