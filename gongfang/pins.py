"""Operator PINs for the station console: one format and one hash, for the server (which
hands the hashes of its operators to their cooperative's stations) and the edge.

Argon2 at 8 MiB and 3 passes, not pwdlib's default 64 MiB, so a sign-in on the station box
cannot push the edge past its 200 MB budget. A 4–8 digit PIN falls to an offline search
whatever the cost: what protects it is that only the cooperative's own stations get the
hashes, and that a station locks a name for a minute after repeated wrong PINs.
"""

from __future__ import annotations

import re

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

PIN_RE = re.compile(r"^[0-9]{4,8}$")
PIN_RULE = "PIN 须为 4–8 位数字 / the PIN must be 4–8 digits"

_hasher = PasswordHash((Argon2Hasher(time_cost=3, memory_cost=8 * 1024, parallelism=1),))


def valid_pin(pin: str) -> bool:
    return PIN_RE.fullmatch(pin) is not None


def hash_pin(pin: str) -> str:
    """The Argon2 hash of a PIN (raises ValueError for one that is not 4–8 digits)."""
    if not valid_pin(pin):
        raise ValueError(PIN_RULE)
    return _hasher.hash(pin)


def verify_pin(pin: str, pin_hash: str) -> bool:
    """True when the PIN matches; a malformed PIN or an unreadable hash is simply False."""
    if not valid_pin(pin) or not pin_hash.startswith("$argon2"):
        return False
    try:
        return bool(_hasher.verify(pin, pin_hash))
    except Exception:  # a hash this version cannot read: refused, not a crash
        return False
