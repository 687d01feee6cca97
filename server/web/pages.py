"""The server's page renderer: ``PAGES`` (kernel Pages over server/web/templates and the
kernel + server/web catalogues) and ``render(request, name, ctx, status=200)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from gongfang.web.i18n import Messages
from gongfang.web.templating import Pages

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
LOCALE = HERE / "locale"

PAGES = Pages([TEMPLATES], Messages.load(LOCALE))


def one_language(message: str, lang: str) -> str:
    """Domain messages read "中文 / English": the half in the page's language."""
    if " / " not in message:
        return message
    zh, en = message.split(" / ", 1)
    return zh if lang == "zh" else en


PAGES.env.filters["half"] = one_language


def render(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a server page (``user`` and ``nav`` in ``ctx`` feed coop_base.html)."""
    return PAGES.render(request, name, ctx, status=status)
