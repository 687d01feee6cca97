"""``gongfang bridge`` and ``gongfang simulate``."""

from __future__ import annotations

import logging
import signal
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

log = logging.getLogger("firmware_bridge")


def _setup_logging(verbose: bool) -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    # Logs go to stderr: stdout carries what a command prints for scripts (JSON, tables).
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[
            RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False)
        ],
        force=True,
    )
    for noisy in ("paho", "amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # pymodbus logs each missed reply with a hex dump; the bridge says it more clearly.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def _on_signals(stop: Any) -> None:
    """SIGINT/SIGTERM end the run cleanly (devices say offline, clients disconnect)."""

    def handler(signum: int, _frame: object) -> None:
        log.info("收到信号 %s，正在停止 / got signal %s, stopping", signum, signum)
        stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def bridge(
    config: Annotated[
        Path, typer.Option("--config", help="站点设备配置 TOML / station device config")
    ],
    mqtt: Annotated[
        str | None, typer.Option("--mqtt", help="MQTT 代理地址 / broker URL, e.g. mqtt://127.0.0.1:1883")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="调试日志 / debug logging")
    ] = False,
) -> None:
    """桥接串口秤和温湿度传感器到 MQTT / Bridge serial scales and RS485 probes to MQTT."""
    from firmware_bridge.config import load_config
    from firmware_bridge.devices import Bridge
    from firmware_bridge.errors import BridgeError
    from gongfang.settings import EMBEDDED_MQTT, ConfigError

    _setup_logging(verbose)
    try:
        settings, devices = load_config(config, mqtt_url=mqtt)
    except (BridgeError, ConfigError, ValueError) as exc:
        typer.echo(f"配置错误 / config error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not devices:
        typer.echo("配置中没有设备 / no [[devices]] in the config", err=True)
        raise typer.Exit(2)
    broker = None
    if settings.mqtt_url == EMBEDDED_MQTT:
        from gongfang.embedded_broker import EmbeddedBroker

        broker = EmbeddedBroker().start()
        settings = settings.model_copy(update={"mqtt_url": broker.url})
    for d in devices:
        log.info("设备 / device %s: %s on %s", d.id, d.protocol, d.port)
    try:
        runner = Bridge(devices, settings)
    except BridgeError as exc:
        typer.echo(f"配置错误 / config error: {exc}", err=True)
        raise typer.Exit(2) from None
    _on_signals(runner.request_stop)
    log.info(
        "桥接运行中，站点 %s，MQTT %s（Ctrl-C 停止）/ bridging station %s to %s (Ctrl-C stops)",
        settings.station,
        settings.mqtt_url,
        settings.station,
        settings.mqtt_url,
    )
    runner.start()
    try:
        runner.wait()
    finally:
        runner.stop()
        if broker is not None:
            broker.stop()
    for dev in runner.devices:
        log.info(
            "设备 %s 统计 / device %s counts: %s", dev.config.id, dev.config.id, dict(dev.counts)
        )


def simulate(
    station: Annotated[
        str | None,
        typer.Option(
            "--station",
            help="站点编号 / station id (默认取 bridge 设置 / default: bridge settings)",
        ),
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt", help="MQTT URL or embedded:// (默认取 bridge 设置 / default: bridge settings)"
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="随机种子：同一种子同一序列 / same seed, same messages")
    ] = 0,
    speed: Annotated[
        float, typer.Option(help="倍速（0 = 不等待）/ N× real time (0: no pacing)")
    ] = 1.0,
    duration: Annotated[
        float | None, typer.Option(help="模拟时长（秒）/ simulated seconds")
    ] = None,
    farmers: Annotated[
        int | None, typer.Option(help="来访农户数 / number of farmer visits")
    ] = None,
    farmer_ids: Annotated[
        str | None, typer.Option(help="农户编号，逗号分隔 / e.g. F001,F002")
    ] = None,
    lanes: Annotated[int, typer.Option(help="收购工位数 / weighing lanes")] = 1,
    rooms: Annotated[int, typer.Option(help="冷库数 / cold rooms")] = 1,
    product: Annotated[
        str, typer.Option(help="产品：strawberry 草莓 | ruoye 箬叶 / product")
    ] = "strawberry",
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="故障 / fault: compressor | silent-sensor | unsettled-scale | garbled | "
            "door-left-open, 可加 @秒 / optionally @seconds"
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="模拟开始时间 ISO-8601（含时区），默认今天 08:00 上海时间 / simulated start "
            "(default: today 08:00 Asia/Shanghai, so lots fall on today's prices)"
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="逐条打印 / print every message")
    ] = False,
) -> None:
    """模拟一个收购站的一天并发布到 MQTT / Simulate a station's day straight onto MQTT."""
    from rich.console import Console

    from firmware_bridge.errors import MqttError
    from firmware_bridge.simulate.day import opening_today
    from firmware_bridge.simulate.publish import Event
    from firmware_bridge.simulate.station import StationSimulator
    from gongfang.settings import EMBEDDED_MQTT, BridgeSettings

    _setup_logging(False)
    console = Console()
    defaults = BridgeSettings.load(station=station, mqtt_url=mqtt)  # env GONGFANG_BRIDGE_*
    station, mqtt = defaults.station, defaults.mqtt_url
    if duration is not None and farmers is not None:
        typer.echo(
            "--duration 与 --farmers 只能选一个 / give --duration or --farmers, not both", err=True
        )
        raise typer.Exit(2)
    try:
        begin = datetime.fromisoformat(start) if start else opening_today()
        if begin.tzinfo is None:
            raise ValueError("start needs a timezone, e.g. 2026-01-15T08:00+08:00")
        sim = StationSimulator(
            station=station,
            mqtt_url=mqtt,
            seed=seed,
            speed=speed,
            farmers=[f.strip() for f in farmer_ids.split(",") if f.strip()] if farmer_ids else None,
            lanes=lanes,
            rooms=rooms,
            faults=fault or [],
            product=product,
            start=begin,
        )
    except ValueError as exc:
        typer.echo(f"参数错误 / bad option: {exc}", err=True)
        raise typer.Exit(2) from None
    broker = None
    if mqtt == EMBEDDED_MQTT:
        from gongfang.embedded_broker import EmbeddedBroker

        broker = EmbeddedBroker().start()
        sim.mqtt_url = broker.url

    def show(ev: Event) -> None:
        body = ev.payload if ev.kind != "camera" else f"<JPEG {len(ev.payload)} bytes>".encode()
        console.print(f"t={ev.t_ms / 1000:9.1f}s  {ev.topic}  {body[:100]!r}", highlight=False)

    _on_signals(sim.stop_event.set)
    try:
        summary = sim.run(
            duration_s=duration, n_farmers=farmers, on_event=show if verbose else None
        )
    except MqttError as exc:
        typer.echo(f"MQTT 错误 / MQTT error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        if broker is not None:
            broker.stop()
    _print_summary(console, summary)


def _print_summary(console: Any, summary: Any) -> None:
    from rich.table import Table

    table = Table(
        title=f"模拟站点 {summary.station} 已发送 / simulated station sent (seed {summary.seed})"
    )
    table.add_column("项目 / item")
    table.add_column("数量 / count", justify="right")
    labels = {
        "scale": "秤读数 scale readings",
        "scanner": "扫码 scanner codes",
        "camera": "相机照片 camera frames",
        "climate": "温湿度 climate samples",
        "door": "库门 door events",
        "device_status": "设备状态 device status",
    }
    for kind, label in labels.items():
        table.add_row(label, str(summary.by_kind.get(kind, 0)))
    table.add_row("消息合计 messages", str(summary.messages))
    table.add_row("字节 bytes", f"{summary.bytes:,}")
    table.add_row("农户来访 farmer visits", str(summary.farmers))
    table.add_row("筐数 crates", str(summary.crates))
    table.add_row("毛重合计 gross (g)", f"{summary.gross_g:,}")
    table.add_row("乱码消息 garbled", str(summary.garbled))
    table.add_row("模拟时长 simulated (s)", f"{summary.simulated_s:.1f}")
    table.add_row("实际用时 wall (s)", f"{summary.wall_s:.1f}")
    table.add_row("故障 faults", ", ".join(summary.faults) or "-")
    table.add_row("相机 camera", summary.camera)
    console.print(table)


def mqtt_config(
    bridge_config: Annotated[
        Path, typer.Option("--bridge", help="桥接设备配置 / the bridge's device config TOML")
    ],
    edge_config: Annotated[
        Path, typer.Option("--edge", help="边缘节点配置 / the edge node's config TOML (lanes)")
    ],
    out: Annotated[Path, typer.Option("--out", help="输出目录 / folder for the broker files")],
    central: Annotated[
        str | None,
        typer.Option(help="中心 MQTT 地址 host:8883（生成桥接配置）/ central broker, for a bridge"),
    ] = None,
    central_ca: Annotated[
        Path | None, typer.Option(help="中心 MQTT 的 CA 证书 / CA file of the central broker")
    ] = None,
    central_user: Annotated[
        str | None, typer.Option(help="在中心 MQTT 的用户名 / user name at the central broker")
    ] = None,
) -> None:
    """生成站点 MQTT 的密码文件和 ACL / Write a station broker's password file, ACL and config.

    每台设备和边缘节点各有自己的用户名和随机密码；设备只能发布自己的主题。
    Every device and the edge node get their own user and random password; each device may
    publish only its own topics. With --central, also a bridge to the central broker (its
    password is asked for, or read from stdin).
    """
    from firmware_bridge.broker_config import bridge_conf_text, write_station_files
    from firmware_bridge.config import load_config
    from firmware_bridge.errors import BridgeError
    from gongfang.settings import ConfigError, EdgeSettings

    try:
        settings, devices = load_config(bridge_config)
        edge = EdgeSettings.load(config_file=edge_config)
    except (BridgeError, ConfigError, ValueError) as exc:
        typer.echo(f"配置错误 / config error: {exc}", err=True)
        raise typer.Exit(2) from None
    if edge.station != settings.station:
        typer.echo(
            f"站点不一致 / the two configs name different stations: {settings.station} vs "
            f"{edge.station}", err=True,
        )
        raise typer.Exit(2)
    users = write_station_files(out, settings.station, devices, [lane.id for lane in edge.lanes])
    if central:
        if central_ca is None or central_user is None:
            typer.echo("--central 需要 --central-ca 和 --central-user / --central needs "
                       "--central-ca and --central-user", err=True)
            raise typer.Exit(2)
        password = typer.prompt("中心 MQTT 密码 / central broker password", hide_input=True)
        (out / "bridge-central.conf").write_text(bridge_conf_text(
            settings.station, central=central, ca_file=central_ca.resolve(),
            username=central_user, password=password,
        ))
        (out / "bridge-central.conf").chmod(0o600)
    typer.echo(f"已写入 / wrote {out}: passwd, acl, credentials.toml, station.conf"
               + (", bridge-central.conf" if central else ""))
    for u in users:
        typer.echo(f"  {u.name}: {', '.join(u.write)}")
    typer.echo("在边缘和桥接配置中设置 mqtt_credentials_file / set mqtt_credentials_file = "
               f'"{(out / "credentials.toml").resolve()}" in [edge] and [bridge]')
