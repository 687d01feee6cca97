"""``gongfang server …`` and ``gongfang payouts …``."""

from __future__ import annotations

import typer

server_app = typer.Typer(
    help="中心服务器 Central server: run it, import bundles.", no_args_is_help=True
)
payouts_app = typer.Typer(help="结算 Payout runs: create, review, approve.", no_args_is_help=True)


@server_app.command("serve")
def serve() -> None:
    """Run the central server (HTTP API, /docs, /metrics)."""
    typer.echo("not implemented yet (issue 3)", err=True)
    raise typer.Exit(2)
