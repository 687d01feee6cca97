"""``gongfang demo``: a simulated station day on embedded defaults (no system packages).

An in-process MQTT broker, the central server on SQLite, an edge node and the station
simulator run together: farmers arrive, crates are weighed and graded by the ONNX models,
lots sync to the server, which prices them under each farmer's contract; then a payout
run is drafted and printed, and the three pages stay up (station console, cooperative
review, a farmer's passbook: URLs and demo sign-ins printed) until Ctrl-C or --exit-after.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY_S = 1800.0  # simulated seconds: the farmers' visits, then the cold room until the alarm


def demo(
    farmers: Annotated[
        int, typer.Option(min=1, max=10, help="来访农户数 / how many farmers visit the station.")
    ] = 6,
    speed: Annotated[
        float, typer.Option(help="模拟时间加速倍数 / simulated time runs this many times faster.")
    ] = 40,
    seed: Annotated[int, typer.Option(help="模拟日的随机种子 / seed of the simulated day.")] = 1,
    home: Annotated[
        Path | None,
        typer.Option(
            help="数据目录（默认新建临时目录）/ data folder (default: a new temporary one)."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="超过此秒数即放弃 / give up after this many seconds.")
    ] = 240,
    exit_after: Annotated[
        float | None,
        typer.Option(
            "--exit-after",
            min=0,
            help="页面启动后多少秒停止（默认一直运行到 Ctrl-C）/ stop this many seconds after "
            "the pages are up (default: keep them up until Ctrl-C).",
        ),
    ] = None,
) -> None:
    """演示：模拟收购站的一天并打开三个页面 / Run a simulated station day on embedded
    defaults, say what happened, and keep the station console, the cooperative review and
    a farmer passbook up (URLs printed)."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    console = Console()
    base = home or Path(tempfile.mkdtemp(prefix="gongfang-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        _run(
            console,
            base,
            farmers=farmers,
            speed=speed,
            seed=seed,
            timeout_s=timeout,
            exit_after_s=exit_after,
        )
    except _DemoFailed as exc:
        console.print(f"[red]✗ 演示未完成 / demo did not complete:[/] {exc}")
        raise typer.Exit(1) from None


class _DemoFailed(Exception):
    pass


def _ok(console: Console, zh: str, en: str) -> None:
    console.print(f"[green]✓[/] {zh} / {en}")


def _run(
    console: Console,
    base: Path,
    *,
    farmers: int,
    speed: float,
    seed: int,
    timeout_s: float,
    exit_after_s: float | None,
) -> None:
    from edge.app import EdgeNode
    from firmware_bridge.simulate.station import StationSimulator
    from gongfang.demo_bundle import COOPERATIVE, QUALITIES, STATION, VISITORS, demo_bundle
    from gongfang.demo_pages import print_pages, provision
    from gongfang.demo_report import report
    from gongfang.embedded_broker import EmbeddedBroker
    from gongfang.settings import EdgeSettings, ServerSettings

    deadline = time.monotonic() + timeout_s
    # The simulated day starts at 08:00 Shanghai today, so lots fall on today's prices.
    today = datetime.now(SHANGHAI).date()
    start = datetime(today.year, today.month, today.day, 8, tzinfo=SHANGHAI).astimezone(UTC)

    with EmbeddedBroker() as broker:
        _ok(console, f"内置 MQTT 代理已启动 {broker.url}", "embedded MQTT broker started")
        db_url = f"sqlite:///{base / 'server.db'}"
        server_settings = ServerSettings.load(
            database_url=db_url, dev_mode=True, photos_dir=base / "photos"
        )
        server = _ServerThread(server_settings).start()
        try:
            key = _provision(db_url, demo_bundle(today), STATION)
            _ok(
                console,
                f"中心服务器已启动 {server.url}（SQLite {base / 'server.db'}）",
                "central server started; cooperative, 10 farmers, contracts and prices imported",
            )
            edge_settings = EdgeSettings.load(
                station=STATION,
                mqtt_url=broker.url,
                server_url=server.url,
                api_key=key,
                data_dir=base / "edge",
                auto_confirm=True,
                http_port=0,
                sync_interval_s=0.5,
            )
            with EdgeNode(edge_settings) as node:
                if not node.wait_connected(10):
                    raise _DemoFailed("edge node could not reach the broker")
                _ok(
                    console,
                    f"边缘节点已启动（操作接口 {node.http_url}）",
                    "edge node started, graders loading",
                )
                sim = StationSimulator(
                    station=STATION,
                    mqtt_url=broker.url,
                    seed=seed,
                    speed=speed,
                    farmers=VISITORS,
                    qualities=QUALITIES,
                    # A bad morning in the cold room: its compressor has stopped and
                    # the door is propped open for 7 min while crates go in; the room
                    # warms past 4 °C and the 20-minute alarm goes off (DESIGN's cold chain).
                    faults=["compressor@0", "door-left-open@30"],
                    start=start,
                )
                with console.status("模拟收购日进行中 / simulating the station day…"):
                    summary = sim.run(n_farmers=farmers, duration_s=DAY_S)
                _ok(
                    console,
                    f"模拟器发送 {summary.messages} 条消息：{summary.farmers} 位农户，"
                    f"{summary.crates} 筐，毛重 {summary.gross_g / 1000:.1f} kg",
                    f"simulator sent {summary.messages} messages in {summary.wall_s:.1f} s",
                )
                status = _wait_synced(node, summary.crates, deadline)
                lots = status["lots_stored"]
                _ok(
                    console,
                    f"边缘节点记录 {lots} 批次并已全部同步到服务器",
                    f"edge stored {lots} lots, outbox empty, all synced",
                )
                if status["for_operator"]:
                    n = len(status["for_operator"])
                    console.print(
                        f"[yellow]![/] {n} 筐照片无法自动定级，等待操作员人工定级 / "
                        f"{n} crate(s) could not be graded from the photo and wait for the "
                        "operator"
                    )
                report(console, db_url, COOPERATIVE, STATION, today)
                _ok(console, "结算草稿已生成，审核人可批准", "payout draft created for review")
                pages = provision(
                    db_url=db_url, cooperative=COOPERATIVE, node=node, server_url=server.url
                )
                console.print(f"\n数据目录 / data folder: {base}")
                console.print(f"收购小票 / receipts: {base / 'edge' / 'receipts'}")
                print_pages(console, pages)
                _keep_up(console, exit_after_s)
        finally:
            server.stop()


def _keep_up(console: Console, exit_after_s: float | None) -> None:
    """Serve the pages until Ctrl-C, or for ``exit_after_s`` seconds."""
    if exit_after_s is None:
        console.print("\n按 Ctrl-C 停止 / press Ctrl-C to stop")
    else:
        console.print(f"\n{exit_after_s:g} 秒后停止 / stopping in {exit_after_s:g} s")
    until = None if exit_after_s is None else time.monotonic() + exit_after_s
    try:
        while until is None or time.monotonic() < until:
            time.sleep(0.2 if until is None else max(0.0, min(0.2, until - time.monotonic())))
    except KeyboardInterrupt:
        pass
    _ok(console, "演示已停止", "demo stopped")


def _provision(db_url: str, bundle: dict[str, Any], station: str) -> str:
    from server.core.db import make_engine, session_factory, session_scope, upgrade
    from server.importer import import_bundle
    from server.stations.service import issue_station_key

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            import_bundle(session=session, doc=bundle, actor="demo")
            return issue_station_key(session=session, station_id=station, actor="demo")
    finally:
        engine.dispose()


def _wait_synced(node: Any, crates: int, deadline: float, stall_s: float = 10.0) -> dict[str, Any]:
    """Wait until every crate is a lot (or awaits the operator) and the outbox is empty.

    Gives up early when nothing has moved for ``stall_s`` seconds, saying what is stuck.
    """
    last: tuple[int, int, int] | None = None
    moved = time.monotonic()
    while True:
        st = node.status()
        lots = sum(int(lane["lots"]) for lane in st["lanes"].values())
        waiting = [p for lane in st["lanes"].values() for p in lane["pending"]]
        outbox = int(st["outbox"]["total"])
        # Lots that wait for the operator (no usable photo) count as done for the demo.
        for_operator = [p for p in waiting if p["waiting_for"] in ("operator", "override")]
        if lots + len(waiting) >= crates and outbox == 0 and len(for_operator) == len(waiting):
            return {"lots_stored": lots, "for_operator": waiting, **st}
        now = time.monotonic()
        if (lots, len(waiting), outbox) != last:
            last, moved = (lots, len(waiting), outbox), now
        stalled = now - moved > stall_s
        if stalled and lots + len(waiting) >= crates and outbox == 0:
            # Still no photo grade after a long quiet spell: on a real station the operator
            # grades these crates by hand; the demo says so instead of waiting for ever.
            return {"lots_stored": lots, "for_operator": waiting, **st}
        if now > deadline or stalled:
            raise _DemoFailed(
                f"{lots}/{crates} lots stored, {len(waiting)} waiting "
                f"({', '.join(str(p['waiting_for']) for p in waiting) or '-'}), "
                f"outbox {outbox}, sync {st['sync'].get('status')}"
            )
        time.sleep(0.25)


class _ServerThread:
    """uvicorn serving ``create_app`` on a free loopback port, in a thread."""

    def __init__(self, settings: Any) -> None:
        import uvicorn

        from gongfang.embedded_broker import free_port
        from server.main import create_app

        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="demo-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> _ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise _DemoFailed("the central server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
