"""``gongfang server serve | import``: run the central server, load a bundle into it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from server.cli.common import DbOpt, db_session, fail


def serve(
    host: Annotated[str | None, typer.Option(help="监听地址 / bind address")] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML 配置文件 / config file")] = None,
    db: DbOpt = None,
) -> None:
    """运行中心服务器 / Run the central server (HTTP API, /docs, /metrics, /healthz)."""
    from pydantic import ValidationError

    from gongfang.settings import ConfigError, ServerSettings
    from server.core.config import settings_error_message

    try:
        settings = ServerSettings.load(config_file=config, host=host, port=port, database_url=db)
    except ValidationError as exc:
        raise fail(settings_error_message(exc), 2) from None
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    import uvicorn

    from server.main import create_app, freeze_startup_objects

    try:
        app = create_app(settings)
    except ConfigError as exc:  # e.g. a field key that does not open the stored values
        raise fail(str(exc), 2) from None
    freeze_startup_objects()
    typer.echo(f"gongfang server on http://{settings.host}:{settings.port} (docs: /docs)")
    # Behind a TLS proxy: X-Forwarded-For/-Proto are believed only from trusted_proxies, so
    # sign-in throttling sees the real client and cookies get Secure on https.
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="info",
        proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies,
    )


def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="JSON 数据包 / bundle file", exists=True, dir_okay=False)
    ],
    db: DbOpt = None,
) -> None:
    """导入合作社数据包（全部或全不）/ Import a bundle (cooperatives, stations, farmers,
    contracts, prices, lots), all or none; its format: examples/cooperative.schema.json."""
    from server.cli.fields import optional_field_cipher
    from server.core.errors import ImportFailed
    from server.importer import import_bundle

    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"无法读取数据包 / cannot read the bundle: {exc}") from None
    if not isinstance(doc, dict):
        raise fail("包必须是 JSON 对象 / the bundle must be a JSON object")
    try:
        with db_session(db) as session:
            report = import_bundle(
                session=session, doc=doc, actor=f"cli:{file.name}", cipher=optional_field_cipher()
            )
    except ImportFailed as exc:
        typer.echo(exc.message, err=True)
        for err in exc.errors:
            typer.echo(f"  - {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo("导入完成 / imported: " + ", ".join(f"{k}={v}" for k, v in report.as_dict().items()))
