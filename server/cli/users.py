"""``gongfang server add-user | set-password | disable-user | enable-user | set-pin``: the
people who sign in to the web pages and the station consoles."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from server.cli.common import DbOpt, db_session, fail, refusing

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from server.auth.models import User

NameArg = Annotated[str, typer.Argument(help="用户名 / user name")]
PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="从标准输入第一行读取密码 / read the password from stdin's first line",
    ),
]


def _read_password(from_stdin: bool) -> str:
    """A new password from a hidden prompt (asked twice) or stdin's first line; never an
    argument, which every user of the machine could read in the process list."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise fail("标准输入没有密码 / no password on stdin", 2)
        return line
    password: str = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    return password


def _change_user(db: str | None, name: str, change: Callable[[Session, User], object]) -> None:
    """Apply ``change`` to the user called ``name`` (unknown or refused: leave saying why)."""
    from server.auth.service import user_by_name

    with refusing(db) as session:
        change(session, user_by_name(session=session, name=name))


def add_user(
    name: NameArg,
    role: Annotated[str, typer.Option(help="角色 / role: operator | reviewer | admin")],
    cooperative: Annotated[str | None, typer.Option(help="合作社编号 / cooperative id")] = None,
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
) -> None:
    """新建用户 / Create a user of the web API (the password is prompted for, or read with
    --password-stdin)."""
    from server.auth.service import create_user

    password = _read_password(password_stdin)
    with refusing(db) as session:
        user = create_user(
            session=session, name=name, role=role, password=password, cooperative_id=cooperative,
            actor="cli",
        )
        uid = user.id
    typer.echo(f"用户已创建 / user created: {name} (id {uid}, {role})")


def set_password_cmd(
    name: NameArg, password_stdin: PasswordStdinOpt = False, db: DbOpt = None
) -> None:
    """修改密码 Set a user's password (prompted for, or --password-stdin); every token the
    user holds stops working at once."""
    from server.auth.service import set_password

    password = _read_password(password_stdin)
    _change_user(
        db, name, lambda s, u: set_password(session=s, user=u, password=password, actor="cli")
    )
    typer.echo(f"已修改 {name} 的密码 / password of {name} changed; their tokens are revoked")


def disable_user_cmd(name: NameArg, db: DbOpt = None) -> None:
    """停用用户 Disable a user: no sign-in, and their tokens stop working at once."""
    from server.auth.service import disable_user

    _change_user(db, name, lambda s, u: disable_user(session=s, user=u, actor="cli"))
    typer.echo(f"已停用用户 {name} / user {name} disabled")


def enable_user_cmd(name: NameArg, db: DbOpt = None) -> None:
    """启用用户 Enable a disabled user again (they sign in anew)."""
    from server.auth.service import enable_user

    _change_user(db, name, lambda s, u: enable_user(session=s, user=u, actor="cli"))
    typer.echo(f"已启用用户 {name} / user {name} enabled")


def set_pin(
    name: Annotated[str, typer.Argument(help="操作员用户名 / operator's user name")],
    db: DbOpt = None,
) -> None:
    """设置操作员的收购站 PIN 码 Set an operator's station-console PIN (4–8 digits).

    Asked for twice at a terminal, read from stdin's first line when piped, never an
    argument. The cooperative's stations take it with their next directory refresh.
    """
    from sqlalchemy import select

    from gongfang.pins import PIN_RULE, hash_pin, valid_pin
    from server.audit.service import record
    from server.auth.models import User

    if sys.stdin.isatty():
        pin = typer.prompt("PIN", hide_input=True, confirmation_prompt=True)
    else:
        pin = sys.stdin.readline().strip()
    if not valid_pin(pin):
        raise fail(PIN_RULE, 2)
    with db_session(db) as session:
        user = session.scalars(select(User).where(User.name == name)).one_or_none()
        if user is None or user.role != "operator":
            raise fail(f"没有名为 {name} 的操作员 / no operator named {name}")
        user.pin_hash = hash_pin(pin)
        record(
            session=session, actor="cli", action="set_pin", entity="user", entity_id=str(user.id)
        )
    typer.echo(f"已设置 {name} 的 PIN 码 / PIN set for {name}")
