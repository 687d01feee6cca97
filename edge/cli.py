"""``gongfang edge``: the station edge node."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

ConfigOpt = Annotated[Path | None, typer.Option(help="TOML 配置文件 config file (\\[edge] table)")]
DataDirOpt = Annotated[Path | None, typer.Option(help="本地数据目录 local data dir")]


edge_app = typer.Typer(
    name="edge",
    help="边缘节点 Run a station's edge node (no sub-command), or manage its console.",
    invoke_without_command=True,
    rich_markup_mode="rich",
)


@edge_app.callback()
def edge_main(
    ctx: typer.Context,
    station: Annotated[str | None, typer.Option(help="站点编号 station id")] = None,
    mqtt: Annotated[
        str | None, typer.Option(help="MQTT 代理地址 / broker URL, mqtt://host:port or embedded://")
    ] = None,
    server: Annotated[str | None, typer.Option(help="中心服务器 server URL")] = None,
    api_key: Annotated[str | None, typer.Option(help="本站密钥 station API key")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    http_port: Annotated[int | None, typer.Option(help="操作接口端口 operator API port")] = None,
    auto_confirm: Annotated[
        bool | None,
        typer.Option(
            "--auto-confirm/--no-auto-confirm",
            help="无人值守时自动采用模型等级 / accept the model's grade (no operator)",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="详细日志 debug logging")
    ] = False,
) -> None:
    """Run a station's edge node: scales, camera grading, cold rooms, outbox sync."""
    if ctx.invoked_subcommand is not None:
        return
    edge(
        station=station,
        mqtt=mqtt,
        server=server,
        api_key=api_key,
        config=config,
        data_dir=data_dir,
        http_port=http_port,
        auto_confirm=auto_confirm,
        verbose=verbose,
    )


def edge(
    *,
    station: str | None = None,
    mqtt: str | None = None,
    server: str | None = None,
    api_key: str | None = None,
    config: Path | None = None,
    data_dir: Path | None = None,
    http_port: int | None = None,
    auto_confirm: bool | None = None,
    verbose: bool = False,
) -> None:
    """Run the edge node until SIGINT/SIGTERM."""
    import logging
    import signal
    import threading

    from gongfang.settings import ConfigError, EdgeSettings

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = EdgeSettings.load(
            config,
            station=station,
            mqtt_url=mqtt,
            server_url=server,
            api_key=api_key,
            data_dir=data_dir,
            http_port=http_port,
            auto_confirm=auto_confirm,
        )
    except (ConfigError, ValueError) as exc:
        typer.echo(f"配置错误 / configuration error: {exc}", err=True)
        raise typer.Exit(2) from None

    from edge.app import EdgeNode
    from edge.errors import EdgeError

    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    node = EdgeNode(settings)
    try:
        node.start()
    except (EdgeError, OSError) as exc:
        typer.echo(f"边缘节点启动失败 / edge node failed to start: {exc}", err=True)
        node.stop()
        raise typer.Exit(1) from None
    typer.echo(
        f"边缘节点运行中 / edge node {settings.station} running"
        f" (operator API {node.http_url or 'off'}); Ctrl-C to stop"
    )
    try:
        stop.wait()
    finally:
        node.stop()
        typer.echo("边缘节点已停止 / edge node stopped")


@edge_app.command("set-pin")
def set_pin(
    name: Annotated[str, typer.Argument(help="操作员姓名 operator name")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """设置操作员 PIN 码 Set an operator's console PIN (4–8 digits, asked for, never an argument).

    Typed twice at a terminal; read from the first line of stdin when piped.
    """
    import sys

    from edge.console.auth import PinError
    from edge.console.auth import set_pin as store_pin
    from edge.outbox.store import EdgeStore
    from gongfang.settings import ConfigError, EdgeSettings

    try:
        settings = EdgeSettings.load(config, data_dir=data_dir)
    except (ConfigError, ValueError) as exc:
        typer.echo(f"配置错误 / configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    if sys.stdin.isatty():
        pin = typer.prompt("PIN", hide_input=True, confirmation_prompt=True)
    else:
        pin = sys.stdin.readline().strip()
    store = EdgeStore(Path(settings.data_dir) / "edge.db")
    try:
        store_pin(store, name, pin)
    except PinError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    finally:
        store.close()
    typer.echo(f"已设置 {name.strip()} 的 PIN 码 / PIN set for {name.strip()}")


def export_photos(
    out: Annotated[Path, typer.Argument(help="输出目录 output folder", file_okay=False)],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="从此收购日起 from this intake date (YYYY-MM-DD)"),
    ] = None,
) -> None:
    """导出收购照片供人工标注 Export kept station photos, one crop per fruit, for labelling."""
    from rich.console import Console
    from rich.progress import Progress

    from edge.station.photo_export import MANIFEST, ExportError, export_for_labelling
    from gongfang.settings import ConfigError, EdgeSettings

    try:
        settings = EdgeSettings.load(config, data_dir=data_dir)
    except (ConfigError, ValueError) as exc:
        typer.echo(f"配置错误 / configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    con = Console(stderr=True)
    with Progress(console=con, transient=True) as bar:
        task = bar.add_task("导出 exporting", total=None)

        def _step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            rep = export_for_labelling(
                Path(settings.data_dir),
                out,
                since=since.date() if since else None,
                progress=_step,
            )
        except ExportError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
    per_label = ", ".join(f"{k} {v}" for k, v in rep.by_label.items())
    typer.echo(
        f"批次 lots {rep.lots}; 照片 photos {rep.photos} (未保存 not kept {rep.missing}, "
        f"无法读取 unreadable {rep.unreadable}); 新裁剪 new crops {rep.crops} ({per_label}); "
        f"已分好 already filed {rep.already}"
    )
    typer.echo(
        f"请把放错的图片移到正确的文件夹，然后运行 / move misfiled crops to their true label's "
        f"folder, then run: gongfang evaluate strawberry --data {out}   (清单 list: "
        f"{out / MANIFEST})"
    )
