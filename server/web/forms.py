"""Strict parsers for page form fields: text in, exact integers out, or a message key.

Amounts are typed in 元 (``"-12.50"``) and become integer fen without floats; a price per
kg likewise becomes fen/kg. Each parser raises :class:`FieldError` carrying the catalogue
key the page shows next to the field.
"""

from __future__ import annotations

import re
from datetime import date

# Full-width digits, signs and points as a Chinese input method types them.
_WIDE = str.maketrans("０１２３４５６７８９．－＋−", "0123456789.-+-")
_YUAN = re.compile(r"([+-]?)(\d{1,9})(?:\.(\d{1,2}))?")


class FieldError(ValueError):
    """A form field's value was refused; ``key`` is the message to show next to it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _normalise(text: str) -> str:
    return text.strip().translate(_WIDE).replace(",", "").replace("，", "")


def parse_yuan(text: str, *, allow_negative: bool = True, max_fen: int = 100_000_000) -> int:
    """``"-12.50"`` → ``-1250`` fen; at most two decimals, no exponent, no float."""
    value = _normalise(text)
    if not value:
        raise FieldError("form.err.required")
    m = _YUAN.fullmatch(value)
    if m is None:
        raise FieldError("form.err.yuan_format")
    sign, whole, frac = m.groups()
    fen = int(whole) * 100 + int((frac or "").ljust(2, "0"))
    if sign == "-":
        if not allow_negative:
            raise FieldError("form.err.not_negative")
        fen = -fen
    if abs(fen) > max_fen:
        raise FieldError("form.err.too_large")
    return fen


def parse_date(text: str) -> date:
    """``"2026-03-01"`` (what a date input sends) → a date."""
    value = _normalise(text)
    if not value:
        raise FieldError("form.err.required")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise FieldError("form.err.date_format")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError("form.err.date_format") from None


def parse_reason(text: str, *, max_len: int = 500) -> str:
    value = text.strip()
    if not value:
        raise FieldError("form.err.reason_required")
    if len(value) > max_len:
        raise FieldError("form.err.too_long")
    return value
