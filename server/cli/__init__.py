"""``gongfang server …`` and ``gongfang payouts …``: one module per command group.

Heavy imports (SQLAlchemy, FastAPI, the server modules) happen inside the commands so
``gongfang --help`` stays instant. ``--db`` defaults to ``GONGFANG_SERVER_DATABASE_URL``
or the embedded SQLite database under the data directory. The commands are registered
here, in the order ``--help`` lists them.
"""

from __future__ import annotations

import typer

from server.cli import fields, passbook, payouts, serve, stations, users

server_app = typer.Typer(
    help="中心服务器 Central server: run it, import bundles, keys and users.", no_args_is_help=True
)
payouts_app = typer.Typer(help="结算 Payout runs: create, review, approve.", no_args_is_help=True)

server_app.command("serve")(serve.serve)
server_app.command("import")(serve.import_cmd)
server_app.command("station-key")(stations.station_key)
server_app.command("revoke-station-key")(stations.revoke_station_key_cmd)
server_app.command("add-user")(users.add_user)
server_app.command("set-password")(users.set_password_cmd)
server_app.command("disable-user")(users.disable_user_cmd)
server_app.command("enable-user")(users.enable_user_cmd)
server_app.command("set-pin")(users.set_pin)
server_app.command("revoke-passbook")(passbook.revoke_passbook)
server_app.command("migrate")(fields.migrate)
server_app.command("new-field-key")(fields.new_field_key)
server_app.command("rotate-field-key")(fields.rotate_field_key)

payouts_app.command("run")(payouts.run)
payouts_app.command("approve")(payouts.approve)
payouts_app.command("export")(payouts.export)
payouts_app.command("paid")(payouts.paid)
