"""The server's pages (cooperative review, dashboards, passbook): ``mount_pages(app)``.

Each page group is a router module here; add yours to ``_routers`` below. Page templates
extend ``coop_base.html`` (the cooperative nav) and use ``server.web.session.PageUser``.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from server.web.pages import HERE

# Router modules of server/web (each has ``router``); a missing one is skipped so page
# groups can land one by one.
_routers = (
    "session",
    "runs",
    "run_lines",
    "lots",
    "photos",
    "intake",
    "contracts",
    "prices",
    "coldchain",
    "passbook",
)


def mount_pages(app: FastAPI) -> None:
    """Include the page routers, serve /static/coop/ and render page-path errors as pages."""
    from server.web.errors import install_page_errors

    for name in _routers:
        try:
            module = importlib.import_module(f"server.web.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"server.web.{name}":
                raise
            continue
        app.include_router(module.router)
    app.mount("/static/coop", StaticFiles(directory=HERE / "static"), name="coop-static")
    install_page_errors(app)
