"""``gongfang train`` and ``gongfang evaluate``."""

from __future__ import annotations

import typer


def train() -> None:
    """Retrain a grader from the photos (needs the ``train`` extra)."""
    typer.echo("not implemented yet (issue 5)", err=True)
    raise typer.Exit(2)


def evaluate() -> None:
    """Print the shipped model's metrics on a labelled folder."""
    typer.echo("not implemented yet (issue 5)", err=True)
    raise typer.Exit(2)
