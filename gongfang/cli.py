"""The one ``gongfang`` command. Each package owns its sub-commands in its own ``cli.py``.

Sub-command modules import only Typer at module level and do heavy imports (FastAPI,
OpenCV, onnxruntime…) inside the command, so ``gongfang --help`` answers at once.
"""

from __future__ import annotations

import typer

from edge import cli as edge_cli
from edge.grading import cli as grade_cli
from firmware_bridge import cli as bridge_cli
from gongfang import demo
from models import cli as models_cli
from server import cli as server_cli

app = typer.Typer(
    name="gongfang",
    help="共富工坊收购站系统 gongfang: produce-collection stations — weighing, grading, "
    "cold chain and guaranteed-price payouts.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)

app.add_typer(server_cli.server_app, name="server")
app.add_typer(server_cli.payouts_app, name="payouts")
app.add_typer(edge_cli.edge_app, name="edge")
app.command("export-photos")(edge_cli.export_photos)
app.command("bridge")(bridge_cli.bridge)
app.command("simulate")(bridge_cli.simulate)
app.command("mqtt-config")(bridge_cli.mqtt_config)
app.command("grade")(grade_cli.grade)
app.command("train")(models_cli.train)
app.command("evaluate")(models_cli.evaluate)
app.command("demo")(demo.demo)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
