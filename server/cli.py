"""``gongfang server …`` and ``gongfang payouts …``.

Heavy imports (SQLAlchemy, FastAPI, the server modules) happen inside the commands so
``gongfang --help`` stays instant. ``--db`` defaults to ``GONGFANG_SERVER_DATABASE_URL``
or the embedded SQLite database under the data directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from server.payouts.service import RunSummary

server_app = typer.Typer(
    help="中心服务器 Central server: run it, import bundles, keys and users.", no_args_is_help=True
)
payouts_app = typer.Typer(help="结算 Payout runs: create, review, approve.", no_args_is_help=True)

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="数据库 URL / database URL (default: the embedded SQLite database)"),
]


@contextmanager
def _session(db: str | None) -> Iterator[Session]:
    """One unit of work on ``db`` (migrated first); its connections are closed afterwards."""
    from server.core.config import default_db_url
    from server.core.db import make_engine, session_factory, session_scope, upgrade

    url = db or default_db_url()
    try:
        upgrade(url)  # a migration needing the field key reads it from the environment
    except RuntimeError as exc:  # e.g. 0009: plain numbers to seal and no key (says so)
        raise _fail(str(exc)) from None
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            yield session
    finally:
        # Close the pool: commands also run in-process (tests, the demo), where a
        # forgotten pool keeps PostgreSQL connections open until garbage collection.
        engine.dispose()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@server_app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址 / bind address")] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML 配置文件 / config file")] = None,
    db: DbOpt = None,
) -> None:
    """Run the central server (HTTP API, /docs, /metrics, /healthz)."""
    from pydantic import ValidationError

    from gongfang.settings import ConfigError, ServerSettings
    from server.core.config import settings_error_message

    try:
        settings = ServerSettings.load(config_file=config, host=host, port=port, database_url=db)
    except ValidationError as exc:
        raise _fail(settings_error_message(exc), 2) from None
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    import uvicorn

    from server.main import create_app, freeze_startup_objects

    try:
        app = create_app(settings)
    except ConfigError as exc:  # e.g. a field key that does not open the stored values
        raise _fail(str(exc), 2) from None
    freeze_startup_objects()
    typer.echo(f"gongfang server on http://{settings.host}:{settings.port} (docs: /docs)")
    # Behind a TLS proxy: X-Forwarded-For/-Proto are believed only from trusted_proxies, so
    # sign-in throttling sees the real client and cookies get Secure on https.
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="info",
        proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies,
    )


@server_app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="JSON 数据包 / bundle file", exists=True, dir_okay=False)
    ],
    db: DbOpt = None,
) -> None:
    """Import a bundle (cooperatives, stations, farmers, contracts, prices, lots), all or none."""
    from server.core.errors import ImportFailed
    from server.fields_cli import optional_field_cipher
    from server.importer import import_bundle

    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(f"无法读取数据包 / cannot read the bundle: {exc}") from None
    if not isinstance(doc, dict):
        raise _fail("包必须是 JSON 对象 / the bundle must be a JSON object")
    try:
        with _session(db) as session:
            report = import_bundle(
                session, doc, actor=f"cli:{file.name}", cipher=optional_field_cipher()
            )
    except ImportFailed as exc:
        typer.echo(exc.message, err=True)
        for err in exc.errors:
            typer.echo(f"  - {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo("导入完成 / imported: " + ", ".join(f"{k}={v}" for k, v in report.as_dict().items()))


@server_app.command("station-key")
def station_key(
    station: Annotated[str, typer.Argument(help="收购站编号 / station id")], db: DbOpt = None
) -> None:
    """Issue (or rotate) a station's API key and print it once."""
    from server.core.errors import DomainError
    from server.stations.service import issue_station_key

    try:
        with _session(db) as session:
            key = issue_station_key(session, station_id=station, actor="cli")
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(key)
    typer.echo("请妥善保存，此密钥只显示一次 / keep it safe: this key is shown once", err=True)


@server_app.command("revoke-station-key")
def revoke_station_key_cmd(
    station: Annotated[str, typer.Argument(help="收购站编号 / station id")], db: DbOpt = None
) -> None:
    """吊销收购站密钥 Revoke a station's API key: its syncs are refused at once, on every
    worker, until `station-key` issues a new one."""
    from server.core.errors import DomainError
    from server.stations.service import revoke_station_key

    try:
        with _session(db) as session:
            revoke_station_key(session, station_id=station, actor="cli")
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"已吊销收购站 {station} 的密钥 / key of station {station} revoked")


PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="从标准输入第一行读取密码 / read the password from stdin's first line",
    ),
]


def _read_password(from_stdin: bool) -> str:
    """A new password from a hidden prompt (asked twice) or stdin's first line; never an
    argument, which every user of the machine could read in the process list."""
    import sys

    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise _fail("标准输入没有密码 / no password on stdin", 2)
        return line
    password: str = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    return password


@server_app.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="用户名 / user name")],
    role: Annotated[str, typer.Option(help="operator | reviewer | admin")],
    cooperative: Annotated[str | None, typer.Option(help="合作社编号 / cooperative id")] = None,
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
) -> None:
    """Create a user of the web API (the password is prompted for, or read with
    --password-stdin)."""
    from server.auth.service import create_user
    from server.core.errors import DomainError

    password = _read_password(password_stdin)
    try:
        with _session(db) as session:
            user = create_user(
                session,
                name=name,
                role=role,
                password=password,
                cooperative_id=cooperative,
                actor="cli",
            )
            uid = user.id
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"用户已创建 / user created: {name} (id {uid}, {role})")


@server_app.command("set-password")
def set_password_cmd(
    name: Annotated[str, typer.Argument(help="用户名 / user name")],
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
) -> None:
    """修改密码 Set a user's password (prompted for, or --password-stdin); every token the
    user holds stops working at once."""
    from server.auth.service import set_password, user_by_name
    from server.core.errors import DomainError

    password = _read_password(password_stdin)
    try:
        with _session(db) as session:
            set_password(session, user=user_by_name(session, name), password=password, actor="cli")
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"已修改 {name} 的密码 / password of {name} changed; their tokens are revoked")


@server_app.command("disable-user")
def disable_user_cmd(
    name: Annotated[str, typer.Argument(help="用户名 / user name")], db: DbOpt = None
) -> None:
    """停用用户 Disable a user: no sign-in, and their tokens stop working at once."""
    from server.auth.service import disable_user, user_by_name
    from server.core.errors import DomainError

    try:
        with _session(db) as session:
            disable_user(session, user=user_by_name(session, name), actor="cli")
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"已停用用户 {name} / user {name} disabled")


@server_app.command("enable-user")
def enable_user_cmd(
    name: Annotated[str, typer.Argument(help="用户名 / user name")], db: DbOpt = None
) -> None:
    """启用用户 Enable a disabled user again (they sign in anew)."""
    from server.auth.service import enable_user, user_by_name
    from server.core.errors import DomainError

    try:
        with _session(db) as session:
            enable_user(session, user=user_by_name(session, name), actor="cli")
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"已启用用户 {name} / user {name} enabled")


@server_app.command("set-pin")
def set_pin(
    name: Annotated[str, typer.Argument(help="操作员用户名 / operator's user name")],
    db: DbOpt = None,
) -> None:
    """设置操作员的收购站 PIN 码 Set an operator's station-console PIN (4–8 digits).

    Asked for twice at a terminal, read from stdin's first line when piped, never an
    argument. The cooperative's stations take it with their next directory refresh.
    """
    import sys

    from sqlalchemy import select

    from gongfang.pins import PIN_RULE, hash_pin, valid_pin
    from server.audit.service import record
    from server.auth.models import User

    if sys.stdin.isatty():
        pin = typer.prompt("PIN", hide_input=True, confirmation_prompt=True)
    else:
        pin = sys.stdin.readline().strip()
    if not valid_pin(pin):
        raise _fail(PIN_RULE, 2)
    with _session(db) as session:
        user = session.scalars(select(User).where(User.name == name)).one_or_none()
        if user is None or user.role != "operator":
            raise _fail(f"没有名为 {name} 的操作员 / no operator named {name}")
        user.pin_hash = hash_pin(pin)
        record(session, actor="cli", action="set_pin", entity="user", entity_id=str(user.id))
    typer.echo(f"已设置 {name} 的 PIN 码 / PIN set for {name}")


@server_app.command("revoke-passbook")
def revoke_passbook(
    farmer: Annotated[str, typer.Argument(help="农户编号 / farmer id")],
    by: Annotated[str, typer.Option(help="操作人 / who revokes (audit log)")] = "cli",
    db: DbOpt = None,
) -> None:
    """Revoke a farmer's passbook links: the QR codes on their receipts stop opening."""
    from server.core.errors import DomainError
    from server.passbook.service import revoke_farmer

    try:
        with _session(db) as session:
            count = revoke_farmer(session, farmer_id=farmer, actor=by)
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(
        f"已作废农户 {farmer} 的 {count} 个查询链接 / revoked {count} passbook link(s) of {farmer}"
    )


@payouts_app.command("run")
def run(
    cooperative: Annotated[str, typer.Option(help="合作社编号 / cooperative id")],
    date_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="YYYY-MM-DD")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
    by: Annotated[str, typer.Option(help="操作人 / who runs it (audit log)")] = "cli",
    db: DbOpt = None,
) -> None:
    """Create a draft payout run for a period and print its lines."""
    from server.core.errors import DomainError
    from server.payouts.service import create_run, summarize

    try:
        start, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
    except ValueError as exc:
        raise _fail(f"日期格式应为 YYYY-MM-DD / dates must be YYYY-MM-DD: {exc}", 2) from None
    try:
        with _session(db) as session:
            r = create_run(
                session, cooperative_id=cooperative, period_from=start, period_to=end, actor=by
            )
            summary = summarize(session, r)
            doc = summary.as_json()
    except DomainError as exc:
        raise _fail(exc.message) from None
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    _print_run(summary, cooperative, start, end)


def _print_run(summary: RunSummary, cooperative: str, start: date, end: date) -> None:
    from rich.console import Console
    from rich.table import Table

    from gongfang.money import fen_to_yuan_str, grams_to_kg_str

    table = Table(title=f"结算单 Payout run {summary.run.id} · {cooperative} · {start} – {end}")
    for col in ("农户 farmer", "批次 lots", "净重 kg", "货款 元", "调整 元", "应付 元"):
        table.add_column(col, justify="left" if col.startswith("农户") else "right")
    for line in summary.lines:
        table.add_row(
            line.farmer,
            str(line.lots),
            grams_to_kg_str(line.net_g, 3),
            fen_to_yuan_str(line.amount_fen),
            fen_to_yuan_str(line.adjustments_fen),
            fen_to_yuan_str(line.total_fen),
        )
    total = sum(line.total_fen for line in summary.lines)
    table.add_row("合计 total", "", "", "", "", fen_to_yuan_str(total))
    console = Console()
    console.print(table)
    if summary.unpriced:
        ids = ", ".join(str(i) for i in summary.unpriced)
        console.print(f"待定价批次 unpriced lots ({len(summary.unpriced)}): {ids}")
    if summary.late:
        ids = ", ".join(str(i) for i in summary.late)
        console.print(f"迟到批次 late lots ({len(summary.late)}): {ids}")


@payouts_app.command("approve")
def approve(
    run_id: Annotated[int, typer.Argument(help="结算单编号 / run id")],
    by: Annotated[str, typer.Option("--by", help="审批人姓名（记入审计日志）/ approver's name")],
    db: DbOpt = None,
) -> None:
    """Approve a draft run (the name goes into the audit log)."""
    from server.core.errors import DomainError
    from server.payouts.service import approve as approve_run
    from server.payouts.service import get_run

    try:
        with _session(db) as session:
            approve_run(session, run=get_run(session, run_id), actor=by)
    except DomainError as exc:
        detail = f"\n{json.dumps(exc.detail, ensure_ascii=False)}" if exc.detail else ""
        raise _fail(exc.message + detail) from None
    typer.echo(f"结算单 {run_id} 已审批 / run {run_id} approved by {by}")


@payouts_app.command("export")
def export(
    run_id: Annotated[int, typer.Argument(help="结算单编号 / run id")],
    out: Annotated[Path, typer.Option("--out", help="输出文件 .csv 或 .xlsx / output file")],
    by: Annotated[str, typer.Option("--by", help="操作人 / who exports it")] = "cli",
    db: DbOpt = None,
) -> None:
    """Export an approved run's bank batch as CSV or XLSX (by the file's suffix)."""
    from server.core.errors import DomainError
    from server.fields_cli import field_cipher
    from server.payouts.export import export_csv, export_xlsx
    from server.payouts.service import get_run

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise _fail("输出文件须为 .csv 或 .xlsx / the output must end in .csv or .xlsx", 2)
    cipher = field_cipher()  # the bank batch opens the account numbers
    try:
        with _session(db) as session:
            r = get_run(session, run_id)
            if suffix == ".csv":
                text = export_csv(session, run=r, actor=by, cipher=cipher)
                out.write_text(text, encoding="utf-8")
            else:
                out.write_bytes(export_xlsx(session, run=r, actor=by, cipher=cipher))
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"已导出 / exported: {out}")


@payouts_app.command("paid")
def paid(
    run_id: Annotated[int, typer.Argument(help="结算单编号 / run id")],
    by: Annotated[str, typer.Option("--by", help="操作人 / who marks it")],
    db: DbOpt = None,
) -> None:
    """Mark an exported run as paid."""
    from server.core.errors import DomainError
    from server.payouts.service import get_run, mark_paid

    try:
        with _session(db) as session:
            mark_paid(session, run=get_run(session, run_id), actor=by)
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"结算单 {run_id} 已付 / run {run_id} marked paid")
