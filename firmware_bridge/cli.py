"""``gongfang bridge`` and ``gongfang simulate``."""

from __future__ import annotations

import typer


def bridge() -> None:
    """Bridge serial/Modbus scales and sensors to MQTT."""
    typer.echo("not implemented yet (issue 6)", err=True)
    raise typer.Exit(2)


def simulate() -> None:
    """Simulate a whole station's day onto MQTT."""
    typer.echo("not implemented yet (issue 6)", err=True)
    raise typer.Exit(2)
