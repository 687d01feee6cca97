"""Server settings as the app sees them (``gongfang.settings.ServerSettings``)."""

from __future__ import annotations

from pydantic import ValidationError

from gongfang.settings import ServerSettings, default_server_db_url

__all__ = ["ServerSettings", "default_db_url", "settings_error_message"]


def default_db_url() -> str:
    """The database the CLI uses without ``--db``: env/TOML ``database_url`` or embedded SQLite."""
    import os

    return os.environ.get("GONGFANG_SERVER_DATABASE_URL") or default_server_db_url()


def settings_error_message(exc: ValidationError) -> str:
    """The validators' own (Chinese/English) messages, without pydantic's decoration."""
    msgs = []
    for err in exc.errors(include_url=False):
        msg = str(err["msg"])
        msgs.append(msg.removeprefix("Value error, "))
    return "\n".join(msgs)
