"""Jinja2 pages with the kernel's layout, messages and formats in every context.

``Pages(template_dirs, messages).render(request, "name.html", {...})`` gives an HTML
response whose template sees ``t`` (the request's language), ``lang``, ``csrf_token``,
``grade(code)``, ``product(code)`` and the filters ``kg jin yuan per_kg per_jin dt date``.
App templates extend ``gf_base.html``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gongfang.web import fmt
from gongfang.web.i18n import Messages, request_lang

KERNEL_TEMPLATES = Path(__file__).with_name("templates")
CSRF_SCOPE_KEY = "csrftoken"  # where asgi-csrf puts its token getter


def csrf_token(request: Request) -> str:
    """The request's CSRF token ('' where the guard is not installed)."""
    getter = request.scope.get(CSRF_SCOPE_KEY)
    return str(getter()) if callable(getter) else ""


class Pages:
    """An app's templates (its folders first, then the kernel's) and its messages."""

    def __init__(self, template_dirs: Sequence[Path], messages: Messages) -> None:
        self.messages = messages
        loaders = [FileSystemLoader(str(d)) for d in (*template_dirs, KERNEL_TEMPLATES)]
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(["html", "xml", "svg"]),
            undefined=StrictUndefined,  # a typo in a template fails its test, not silently
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            kg=fmt.kg, jin=fmt.jin, yuan=fmt.yuan, per_kg=fmt.per_kg, per_jin=fmt.per_jin,
            dt=fmt.local_dt, date=fmt.local_date,
        )

    def context(self, request: Request) -> dict[str, Any]:
        """What every template sees about the request."""
        lang = request_lang(request)
        t = self.messages.translator(lang)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return {
            "request": request,
            "lang": lang,
            "t": t,
            "csrf_token": csrf_token(request),
            "here": quote(here, safe="/?=&"),
            "grade": lambda code: t(f"grade.{code}") if code else t("grade.none"),
            "product": lambda code: t(f"product.{code}"),
        }

    def render(
        self,
        request: Request,
        name: str,
        ctx: Mapping[str, Any] | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The rendered page as a response."""
        html = self.env.get_template(name).render({**self.context(request), **(ctx or {})})
        return HTMLResponse(html, status_code=status, headers=dict(headers or {}))

    def error(self, request: Request, status: int, message_key: str = "") -> HTMLResponse:
        """A plain error page in the user's language (never a traceback)."""
        keys = {403: ("error.forbidden", "error.forbidden_body"),
                404: ("error.not_found", "error.not_found_body")}
        title, body = keys.get(status, ("error.title", message_key or "error.server"))
        return self.render(
            request, "gf_error.html",
            {"status": status, "title_key": title, "body_key": message_key or body},
            status=status,
        )
