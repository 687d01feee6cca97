"""The receipt QR's passbook key: made at the edge with the lot, opened on the server."""

from __future__ import annotations

import secrets
from typing import Annotated

from pydantic import StringConstraints

# ≥ 128 random bits, URL-safe base64 (secrets.token_urlsafe(16) gives 22 characters).
PassbookToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22,86}$")]
PASSBOOK_TOKEN_BYTES = 16


def new_passbook_token() -> str:
    """A fresh receipt-QR key: 128 bits from the OS's secure random source."""
    return secrets.token_urlsafe(PASSBOOK_TOKEN_BYTES)


def passbook_path(token: str) -> str:
    """The passbook page of a token, relative to a server's public base URL."""
    return f"/p/{token}"
