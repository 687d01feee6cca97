"""``gongfang server station-key | revoke-station-key``: a station's API key."""

from __future__ import annotations

from typing import Annotated

import typer

from server.cli.common import DbOpt, refusing

StationArg = Annotated[str, typer.Argument(help="收购站编号 / station id")]


def station_key(station: StationArg, db: DbOpt = None) -> None:
    """签发（或更换）收购站密钥并只显示一次 / Issue (or rotate) a station's API key and
    print it once."""
    from server.stations.service import issue_station_key

    with refusing(db) as session:
        key = issue_station_key(session=session, station_id=station, actor="cli")
    typer.echo(key)
    typer.echo("请妥善保存，此密钥只显示一次 / keep it safe: this key is shown once", err=True)


def revoke_station_key_cmd(station: StationArg, db: DbOpt = None) -> None:
    """吊销收购站密钥 Revoke a station's API key: its syncs are refused at once, on every
    worker, until `station-key` issues a new one."""
    from server.stations.service import revoke_station_key

    with refusing(db) as session:
        revoke_station_key(session=session, station_id=station, actor="cli")
    typer.echo(f"已吊销收购站 {station} 的密钥 / key of station {station} revoked")
