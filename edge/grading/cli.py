"""``gongfang grade``: grade photos from the command line."""

from __future__ import annotations

import typer


def grade() -> None:
    """Grade strawberry or 箬叶 photos; print one JSON object per image."""
    typer.echo("not implemented yet (issue 5)", err=True)
    raise typer.Exit(2)
