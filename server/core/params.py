"""Strict date and time query parameters: ISO text only.

Pydantic's lax mode reads a number as a Unix time, so ``?date_from=0`` or
``?start=1e-135`` used to be taken for 1970-01-01 and answered 200; a query's date is
written ``YYYY-MM-DD`` and its time ISO 8601, else the request is a 422.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", re.DOTALL)


def _iso_date(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _DATE.fullmatch(value)):
        return value
    raise ValueError("日期须写作 YYYY-MM-DD / a date is written YYYY-MM-DD")


def _iso_datetime(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _DATETIME.fullmatch(value)):
        return value
    raise ValueError("时间须为 ISO 8601 格式 / a time is written in ISO 8601")


#: A date given as ``YYYY-MM-DD`` (never a number).
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
#: A time with its offset given in ISO 8601 (never a number).
IsoAwareDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime)]
