"""farmers' bank accounts and phone numbers sealed at rest

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

``farmers.bank_account`` and ``farmers.phone`` (plain text) become ``*_enc`` (Fernet
ciphertext under the field key) and ``*_masked`` (what pages and the API show). Existing
values are sealed during the upgrade with the key the server runs with: ``create_app`` and
``gongfang server migrate`` pass it in (``config.attributes["field_keys"]``); otherwise it is
read from ``GONGFANG_SERVER_FIELD_KEY`` (dev_mode: the key derived from the secret). With
values to seal and no key, the upgrade stops before changing anything and says so. The
downgrade opens them again with the same key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from cryptography.fernet import Fernet, MultiFernet

from gongfang.settings import ConfigError, FieldKeySettings
from server.farmers.sealed import mask_account, mask_phone

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_KEY = (
    "农户的银行账号和手机号需要用字段密钥加密，但没有设置密钥。请设置 GONGFANG_SERVER_FIELD_KEY "
    "（用 `gongfang server new-field-key` 生成）后再运行 `gongfang server migrate`。 / Farmers' "
    "bank accounts and phone numbers are to be sealed but no field key is set: set "
    "GONGFANG_SERVER_FIELD_KEY (make one with `gongfang server new-field-key`) and run "
    "`gongfang server migrate` again. Nothing was changed."
)


def _cipher() -> MultiFernet | None:
    keys = context.config.attributes.get("field_keys")
    if not keys:
        try:
            keys = FieldKeySettings.load().field_keys()
        except ConfigError:
            return None
    return MultiFernet([Fernet(k) for k in keys])


def _seal(cipher: MultiFernet | None, value: str | None) -> str | None:
    if not value or cipher is None:  # a value comes with a cipher: checked before any change
        return None
    return cipher.encrypt(value.encode("utf-8")).decode("ascii")


def upgrade() -> None:
    conn = op.get_bind()
    farmers = sa.table(
        "farmers",
        sa.column("id", sa.String),
        sa.column("phone", sa.String),
        sa.column("bank_account", sa.String),
    )
    rows = conn.execute(
        sa.select(farmers.c.id, farmers.c.phone, farmers.c.bank_account).where(
            sa.or_(farmers.c.phone.is_not(None), farmers.c.bank_account.is_not(None))
        )
    ).all()
    cipher = _cipher() if rows else None
    if rows and cipher is None:
        raise RuntimeError(NO_KEY)
    with op.batch_alter_table("farmers") as batch:
        batch.add_column(sa.Column("phone_enc", sa.Text(), nullable=True))
        batch.add_column(sa.Column("phone_masked", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("bank_account_enc", sa.Text(), nullable=True))
        batch.add_column(sa.Column("bank_account_masked", sa.String(length=40), nullable=True))
    sealed = sa.table(
        "farmers",
        sa.column("id", sa.String),
        sa.column("phone_enc", sa.Text),
        sa.column("phone_masked", sa.String),
        sa.column("bank_account_enc", sa.Text),
        sa.column("bank_account_masked", sa.String),
    )
    for fid, phone, account in rows:
        conn.execute(
            sa.update(sealed)
            .where(sealed.c.id == fid)
            .values(
                phone_enc=_seal(cipher, phone),
                phone_masked=mask_phone(phone),
                bank_account_enc=_seal(cipher, account),
                bank_account_masked=mask_account(account),
            )
        )
    with op.batch_alter_table("farmers") as batch:
        batch.drop_column("phone")
        batch.drop_column("bank_account")


def downgrade() -> None:
    conn = op.get_bind()
    sealed = sa.table(
        "farmers",
        sa.column("id", sa.String),
        sa.column("phone_enc", sa.Text),
        sa.column("bank_account_enc", sa.Text),
    )
    rows = conn.execute(
        sa.select(sealed.c.id, sealed.c.phone_enc, sealed.c.bank_account_enc).where(
            sa.or_(sealed.c.phone_enc.is_not(None), sealed.c.bank_account_enc.is_not(None))
        )
    ).all()
    cipher = _cipher() if rows else None
    if rows and cipher is None:
        raise RuntimeError(NO_KEY.replace("migrate", "migrate (downgrade)"))
    with op.batch_alter_table("farmers") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("bank_account", sa.String(length=64), nullable=True))
    plain = sa.table(
        "farmers",
        sa.column("id", sa.String),
        sa.column("phone", sa.String),
        sa.column("bank_account", sa.String),
    )

    def _open(token: str | None) -> str | None:
        if token is None or cipher is None:  # as in _seal
            return None
        return cipher.decrypt(token.encode("ascii")).decode("utf-8")

    for fid, phone, account in rows:
        conn.execute(
            sa.update(plain)
            .where(plain.c.id == fid)
            .values(phone=_open(phone), bank_account=_open(account))
        )
    with op.batch_alter_table("farmers") as batch:
        batch.drop_column("phone_enc")
        batch.drop_column("phone_masked")
        batch.drop_column("bank_account_enc")
        batch.drop_column("bank_account_masked")
