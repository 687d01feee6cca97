"""Operator PINs and the signed session cookie of the station console.

PINs (:mod:`gongfang.pins`: 4–8 digits, Argon2) are kept only as hashes in the edge
database (``operators``), set on the box with ``gongfang edge set-pin NAME``, or handed
down with the station directory for the cooperative's operators who have one on the server
(``gongfang server set-pin NAME``). A PIN set on the box wins over the server's for that
name; the server's operators it no longer lists are dropped. Wrong PINs lock a name for a
minute after five tries.

The session is an HttpOnly cookie signed with a per-install secret kept in the data
folder (``console_secret``, mode 0600), valid for one shift.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path
from typing import Protocol

from itsdangerous import BadSignature, URLSafeTimedSerializer

from gongfang import pins, wire

SESSION_COOKIE = "gf_op"
SESSION_MAX_AGE_S = 12 * 3600  # one shift
NAME_MAX = 100
MAX_FAILURES = 5
LOCKOUT_S = 60.0
SECRET_FILE = "console_secret"  # noqa: S105 - a file name, not a secret


class PinStore(Protocol):
    def set_operator(self, name: str, pin_hash: str, *, source: str = "local") -> None: ...
    def operator_pin_hash(self, name: str) -> str | None: ...
    def operator_names(self) -> list[str]: ...
    def operator_sources(self) -> dict[str, str]: ...
    def drop_operator(self, name: str) -> None: ...


class PinError(ValueError):
    """A name or PIN that cannot be set."""


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(c in name for c in "\r\n\t"):
        raise PinError("操作员姓名须为 1–100 个字符 / operator name must be 1–100 characters")
    return name


def set_pin(store: PinStore, name: str, pin: str) -> None:
    """Hash and keep an operator's PIN (a new operator, or a new PIN)."""
    name = check_name(name)
    if not pins.valid_pin(pin):
        raise PinError(pins.PIN_RULE)
    store.set_operator(name, pins.hash_pin(pin), source="local")


def sync_operators(store: PinStore, hints: list[wire.OperatorHint]) -> int:
    """Take the server's operators and PIN hashes (a local PIN wins); returns how many
    names changed."""
    sources = store.operator_sources()
    listed = {h.name for h in hints}
    changed = 0
    for h in hints:
        if sources.get(h.name) == "local" or store.operator_pin_hash(h.name) == h.pin_hash:
            continue
        store.set_operator(h.name, h.pin_hash, source="server")
        changed += 1
    for name, source in sources.items():
        if source == "server" and name not in listed:
            store.drop_operator(name)
            changed += 1
    return changed


class SignIn:
    """Checks PINs, with a lockout after repeated failures for one name."""

    def __init__(self, store: PinStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}

    def names(self) -> list[str]:
        return self._store.operator_names()

    def locked(self, name: str) -> bool:
        with self._lock:
            count, since = self._failures.get(name, (0, 0.0))
            return count >= MAX_FAILURES and time.monotonic() - since < LOCKOUT_S

    def check(self, name: str, pin: str) -> bool:
        """True when the PIN is the operator's; a locked name is refused unchecked."""
        if self.locked(name):
            return False
        stored = self._store.operator_pin_hash(name)
        ok = stored is not None and pins.verify_pin(pin, stored)
        with self._lock:
            if ok:
                self._failures.pop(name, None)
            elif len(self._failures) < 1000:  # names come from the form: keep it bounded
                count, _ = self._failures.get(name, (0, 0.0))
                self._failures[name] = (count + 1, time.monotonic())
        return ok


def load_secret(data_dir: Path) -> str:
    """The install's signing secret, made on first use (readable by the edge user only)."""
    path = Path(data_dir) / SECRET_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
        if len(text) >= 32:
            return text
    except (OSError, UnicodeDecodeError):
        pass
    text = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text)
    return text


class Sessions:
    """Signs and reads the operator cookie."""

    def __init__(self, secret: str) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="gf-console-operator")

    def make(self, operator: str) -> str:
        return self._s.dumps({"op": operator})

    def operator(self, cookie: str | None) -> str | None:
        """The signed-in operator's name, or None (no cookie, forged, expired)."""
        if not cookie:
            return None
        try:
            doc = self._s.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        op = doc.get("op") if isinstance(doc, dict) else None
        return op if isinstance(op, str) and op else None
