"""Farmers' bank accounts and phone numbers, sealed at rest (Fernet) and shown masked.

A row keeps the ciphertext (``*_enc``) and the masked form (``*_masked``, written with it):
pages, the API and the CLI show the mask and never decrypt. Only the bank batch
(:func:`server.payouts.export.bank_rows`) opens an account number. The keys come from the
settings (``field_key`` seals, ``field_keys_old`` are still read: MultiFernet), and
:func:`rotate_all` re-seals every row under the first key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from fastapi import Depends, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.core.errors import DomainError
from server.farmers.models import Farmer


class FieldKeyError(DomainError):
    """The configured field keys cannot open a stored value (a wrong or removed key)."""

    status_code = 503
    code = "field_key"


def mask_account(account: str | None) -> str | None:
    """Only the last 4 digits: ``6222 0212 3456 7890`` → ``**** **** **** 7890``."""
    if not account:
        return None
    digits = "".join(c for c in account if c.isdigit())
    return "**** **** **** " + digits[-4:]


def mask_phone(phone: str | None) -> str | None:
    """A mobile number as ``138****5678``; shorter numbers keep only their last 4 digits."""
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    return "****" + digits[-4:] if len(digits) > 4 else "****"


class FieldCipher:
    """Seals and opens field values with the settings' keys, the first one sealing."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one field key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, token: str, *, farmer: str) -> str:
        """The plain value; :class:`FieldKeyError` (naming the farmer) when no key opens it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise FieldKeyError(_wrong_key(farmer)) from None

    def rotate(self, token: str, *, farmer: str) -> str:
        """The value sealed again under the first key (whichever key sealed it)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise FieldKeyError(_wrong_key(farmer)) from None


def _wrong_key(farmer: str) -> str:
    return (
        f"农户 {farmer} 的银行账号或手机号无法解密：设置的字段密钥都不是加密它时所用的密钥"
        "（轮换密钥时，旧密钥要留在 field_keys_old 中，直到 rotate-field-key 完成） / cannot "
        f"decrypt farmer {farmer}'s bank account or phone: none of the field keys "
        "(GONGFANG_SERVER_FIELD_KEY, GONGFANG_SERVER_FIELD_KEYS_OLD) is the one it was sealed "
        "with (keep the old key in field_keys_old until rotate-field-key has run)"
    )


_MASKS = {"bank_account": mask_account, "phone": mask_phone}
SEALED_FIELDS = tuple(_MASKS)  # the farmer fields kept sealed


def sealed_columns(
    *, cipher: FieldCipher | None, values: Mapping[str, str | None]
) -> dict[str, str | None]:
    """The farmer columns that store the given ``bank_account`` / ``phone`` (``None`` clears)."""
    out: dict[str, str | None] = {}
    for name, value in values.items():
        if value and cipher is None:
            raise FieldKeyError("没有字段密钥，无法存储银行账号或手机号 / no field key to seal it")
        out[f"{name}_enc"] = cipher.seal(value) if cipher is not None and value else None
        out[f"{name}_masked"] = _MASKS[name](value)
    return out


def bank_account_of(*, farmer: Farmer, cipher: FieldCipher) -> str | None:
    """The farmer's full account number: for the bank batch only."""
    if farmer.bank_account_enc is None:
        return None
    return cipher.open(farmer.bank_account_enc, farmer=farmer.id)


# Farmers with a sealed value (statements are immutable: one is reused by every call).
_SEALED = (
    select(Farmer)
    .where(or_(Farmer.bank_account_enc.is_not(None), Farmer.phone_enc.is_not(None)))
    .order_by(Farmer.id)
)


def check_readable(*, session: Session, cipher: FieldCipher) -> None:
    """Open one stored value (the server's start): a wrong key is said at once, not later."""
    farmer = session.scalars(_SEALED.limit(1)).first()
    if farmer is None:
        return
    token = farmer.bank_account_enc or farmer.phone_enc
    if token is not None:  # always: the query picked a row with one
        cipher.open(token, farmer=farmer.id)


def rotate_all(*, session: Session, cipher: FieldCipher, actor: str) -> int:
    """Re-seal every farmer's values under the first key; the number of farmers touched.

    All or nothing: one value no key opens and nothing changes (the caller's transaction).
    """
    count = 0
    for farmer in session.scalars(_SEALED):
        if farmer.bank_account_enc is not None:
            farmer.bank_account_enc = cipher.rotate(farmer.bank_account_enc, farmer=farmer.id)
        if farmer.phone_enc is not None:
            farmer.phone_enc = cipher.rotate(farmer.phone_enc, farmer=farmer.id)
        count += 1
    record(
        session=session,
        actor=actor,
        action="field_key_rotated",
        entity="farmer",
        entity_id="*",
        farmers=count,
    )
    session.flush()
    return count


def get_field_cipher(request: Request) -> FieldCipher:
    cipher: FieldCipher = request.app.state.field_cipher
    return cipher


FieldCipherDep = Annotated[FieldCipher, Depends(get_field_cipher)]
