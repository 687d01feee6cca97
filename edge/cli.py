"""``gongfang edge``: the station edge node."""

from __future__ import annotations

import typer


def edge() -> None:
    """Run a station's edge node: scales, camera grading, cold rooms, outbox sync."""
    typer.echo("not implemented yet (issue 4)", err=True)
    raise typer.Exit(2)
