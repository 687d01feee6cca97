"""``gongfang server new-field-key | rotate-field-key | migrate``: the farmers' sealed fields.

The keys come from ``GONGFANG_SERVER_FIELD_KEY`` / ``GONGFANG_SERVER_FIELD_KEYS_OLD`` (or a
TOML file's ``[server]`` table with ``--config``), as the server reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from server.cli.common import ConfigOpt, DbOpt, db_session, fail

if TYPE_CHECKING:
    from server.farmers.sealed import FieldCipher


def field_keys(config: Path | None = None, *, required: bool = True) -> list[str] | None:
    """The configured field keys (sealing one first); a bad or missing key exits with why."""
    from pydantic import ValidationError

    from gongfang.settings import ConfigError, FieldKeySettings
    from server.core.config import settings_error_message

    try:
        return FieldKeySettings.load(config_file=config).field_keys()
    except ValidationError as exc:
        raise fail(settings_error_message(exc), 2) from None
    except ConfigError as exc:
        if not required:
            return None
        raise fail(str(exc), 2) from None


def field_cipher(config: Path | None = None) -> FieldCipher:
    """The cipher of the configured keys; exits saying why when there are none."""
    from server.farmers.sealed import FieldCipher

    return FieldCipher(field_keys(config) or [])


def optional_field_cipher(config: Path | None = None) -> FieldCipher | None:
    """The cipher of the configured keys, or ``None`` when no key is set."""
    from server.farmers.sealed import FieldCipher

    keys = field_keys(config, required=False)
    return FieldCipher(keys) if keys else None


def new_field_key() -> None:
    """生成新的字段密钥 / Print a new random field key (for GONGFANG_SERVER_FIELD_KEY)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode("ascii"))
    typer.echo(
        "请妥善保存：丢失密钥就无法读出银行账号 / keep it safe: without it the bank accounts "
        "cannot be read back",
        err=True,
    )


def migrate(db: DbOpt = None, config: ConfigOpt = None) -> None:
    """升级数据库到最新结构 / Bring the database to the latest schema (existing bank
    accounts and phones sealed)."""
    from server.core.config import default_db_url
    from server.core.db import upgrade

    keys = field_keys(config, required=False)
    try:
        upgrade(db or default_db_url(), field_keys=keys)
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    typer.echo("数据库已是最新 / the database is up to date")


def rotate_field_key(
    db: DbOpt = None,
    config: ConfigOpt = None,
    by: Annotated[str, typer.Option("--by", help="操作人 / who rotates")] = "cli",
) -> None:
    """用新字段密钥重新加密全部账号和手机号 / Re-seal every bank account and phone under
    the first field key (then drop the old)."""
    from server.farmers.sealed import FieldCipher, FieldKeyError, rotate_all

    keys = field_keys(config) or []  # required: exits when there are none
    try:
        with db_session(db, field_keys=keys) as session:
            count = rotate_all(session=session, cipher=FieldCipher(keys), actor=by)
    except FieldKeyError as exc:
        raise fail(exc.message) from None
    typer.echo(
        f"已用新密钥重新加密 {count} 位农户的信息，现在可以删除旧密钥 / re-sealed {count} "
        "farmer(s) under the new key; the old keys may now be removed from field_keys_old"
    )
