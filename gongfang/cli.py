"""The one ``gongfang`` command. Each package owns its sub-commands in its own ``cli.py``.

Sub-command modules import only Typer at module level and do heavy imports (FastAPI,
OpenCV, onnxruntime…) inside the command, so ``gongfang --help`` answers at once.
"""

from __future__ import annotations

from typing import Any

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
    add_completion=False,  # station boxes and clerks' laptops: no shell completion to install
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


_TAGS = {
    "bool": "",
    "int": "N",
    "int range": "N",
    "float": "X",
    "float range": "X",
    "str": "TEXT",
    "path": "PATH",
    "file": "FILE",
    "datetime": "DATE",
}


def _metavar(param: Any, ctx: Any) -> str:
    """A short plain tag for an option's value, instead of Typer's ``<int>``, ``<bool>``…:
    none for a switch, the choices for a choice, N / X / TEXT / PATH for the rest."""
    shown = getattr(param, "display_type", None)
    label = str(shown(ctx)).strip("<>") if callable(shown) else "str"
    if label.startswith("list[") and label.endswith("]"):
        return f"{_TAGS.get(label[5:-1], label[5:-1])}…"
    return _TAGS.get(label, label)


def tidy(cmd: Any) -> Any:
    """Give every option of the tree a plain value tag (none for switches).

    Typer builds on its own copy of click (``typer._click``), whose option and group
    classes are not the installed click's: parts are told apart by what they do.
    """
    ctx = cmd.context_class(cmd)
    help_opt = cmd.get_help_option(ctx)  # made once per command, then reused
    if help_opt is not None:
        help_opt.metavar = ""
        help_opt.help = "显示此帮助并退出 / show this message and exit."
    for param in cmd.params:
        if param.param_type_name == "option" and param.metavar is None:
            param.metavar = _metavar(param, ctx)
    for sub in getattr(cmd, "commands", {}).values():
        tidy(sub)
    return cmd


def command() -> Any:
    """The ``gongfang`` command as click runs it, with its help tidied."""
    return tidy(typer.main.get_command(app))


def main() -> None:
    """Console-script entry point."""
    command()(prog_name="gongfang")


if __name__ == "__main__":
    main()
