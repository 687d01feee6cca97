"""The demo's three pages: who signs in where, and the URLs ``gongfang demo`` prints.

- station console (the edge): ``{edge}/console``, an operator PIN made for the demo;
- cooperative review (the server): ``{server}/coop/runs``, a reviewer made for the demo;
- farmer passbook (the server): the link a demo receipt's QR code carries.

Passwords and PINs are generated per run and printed once; they are demo credentials on
loopback ports, nothing more.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from rich.console import Console

REVIEWER = "reviewer"  # typed on a laptop's sign-in form: plain ASCII
OPERATOR = "演示操作员"


@dataclass(frozen=True)
class DemoPages:
    console_url: str | None
    operator: tuple[str, str] | None  # (name, PIN); None: no PIN store in this edge
    review_url: str
    reviewer: tuple[str, str]  # (name, password)
    passbook_url: str | None
    passbook_farmer: str | None


def make_reviewer(db_url: str, cooperative: str) -> tuple[str, str]:
    """A reviewer of the demo cooperative with a new password (reset if the user exists)."""
    from sqlalchemy import select

    from server.auth.models import User
    from server.auth.service import create_user, hash_password
    from server.core.db import make_engine, session_factory, session_scope

    password = secrets.token_urlsafe(9)  # 12 characters
    engine = make_engine(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            user = session.scalars(select(User).where(User.name == REVIEWER)).first()
            if user is None:
                create_user(
                    session=session,
                    name=REVIEWER,
                    role="reviewer",
                    password=password,
                    cooperative_id=cooperative,
                    actor="demo",
                )
            else:  # a demo folder used again (--home)
                user.password_hash = hash_password(password)
    finally:
        engine.dispose()
    return REVIEWER, password


def make_operator_pin(store: Any) -> tuple[str, str] | None:
    """An operator PIN in the edge's PIN store (what ``gongfang edge set-pin`` does);
    None when this edge has no console sign-in."""
    try:
        from edge.console.auth import set_pin
    except ImportError:
        return None
    if not hasattr(store, "set_operator"):
        return None
    pin = f"{secrets.randbelow(10**6):06d}"
    set_pin(store, OPERATOR, pin)
    return OPERATOR, pin


def passbook_link(lots: list[Any], base: str | None) -> tuple[str, str] | None:
    """(URL, farmer) of a lot with a passbook token: the newest above 等外 with a photo
    if there is one (it shows the most), else the newest."""
    if not base:
        return None
    keyed = [lot for lot in lots if lot.passbook_token]
    if not keyed:
        return None
    keyed.sort(
        key=lambda lot: (lot.grade != "reject", bool(lot.image_hashes), lot.captured_at),
        reverse=True,
    )
    lot = keyed[0]
    return f"{base.rstrip('/')}/p/{lot.passbook_token}", str(lot.farmer)


def provision(*, db_url: str, cooperative: str, node: Any, server_url: str) -> DemoPages:
    """Make the demo's sign-ins and find its URLs (the edge node is running)."""
    reviewer = make_reviewer(db_url, cooperative)
    operator = make_operator_pin(node.store)
    link = passbook_link(node.store.all_lots(), node.settings.passbook_base)
    return DemoPages(
        console_url=f"{node.http_url}/console" if node.http_url else None,
        operator=operator,
        review_url=f"{server_url}/coop/runs",
        reviewer=reviewer,
        passbook_url=link[0] if link else None,
        passbook_farmer=link[1] if link else None,
    )


def print_pages(console: Console, pages: DemoPages) -> None:
    """The three pages, each URL on a line of its own (never wrapped), with how to get in."""

    def line(text: str) -> None:
        console.print(text, soft_wrap=True, highlight=False)

    line("\n页面 / Pages (在浏览器中打开 / open in a browser):")
    if pages.console_url:
        line("  收购站操作台 / station console:")
        line(f"    {pages.console_url}")
        if pages.operator:
            line(f"    操作员 operator: {pages.operator[0]}  PIN: {pages.operator[1]}")
        else:
            line("    （此版本的操作台无 PIN 登录 / this console has no PIN sign-in）")
    line("  合作社审核 / cooperative review:")
    line(f"    {pages.review_url}")
    line(f"    审核员 reviewer: {pages.reviewer[0]}  密码 password: {pages.reviewer[1]}")
    if pages.passbook_url:
        line(f"  农户查询 / farmer passbook ({pages.passbook_farmer}, 无需登录 / no sign-in):")
        line(f"    {pages.passbook_url}")
    else:
        line("  农户查询 / farmer passbook: 没有批次 / no lot to show")
