"""``gongfang server revoke-passbook``: a farmer's passbook links."""

from __future__ import annotations

from typing import Annotated

import typer

from server.cli.common import DbOpt, refusing


def revoke_passbook(
    farmer: Annotated[str, typer.Argument(help="农户编号 / farmer id")],
    by: Annotated[str, typer.Option(help="操作人 / who revokes (audit log)")] = "cli",
    db: DbOpt = None,
) -> None:
    """吊销农户的查询链接 / Revoke a farmer's passbook links: the QR codes on their
    receipts stop opening."""
    from server.passbook.service import revoke_farmer

    with refusing(db) as session:
        count = revoke_farmer(session=session, farmer_id=farmer, actor=by)
    typer.echo(
        f"已作废农户 {farmer} 的 {count} 个查询链接 / revoked {count} passbook link(s) of {farmer}"
    )
