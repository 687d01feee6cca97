"""Cooperative sign-in: exports PageUser, PayoutPageUser, ReviewerPageUser, SESSION_COOKIE."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongfang.web.routes import safe_next as kernel_safe_next
from server.auth.models import User
from server.auth.service import UserDisabled, make_token, read_token, sign_in, token_user
from server.core.deps import SessionDep, SettingsDep, client_address
from server.core.errors import Forbidden, NotAuthenticated, TooManyAttempts
from server.web.pages import render

# The cookie carries the same HMAC-signed token the JSON API takes as a bearer token.
SESSION_COOKIE = "gf_session"

router = APIRouter(include_in_schema=False)


class LoginRequired(NotAuthenticated):
    """A page needs a signed-in user: the page error handler redirects to /coop/login."""


HOME = "/coop/runs"


def safe_next(target: str | None, default: str = HOME) -> str:
    """Only a local path (the kernel's rule), the runs list by default."""
    return kernel_safe_next(target, default)


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/coop/login?next=" + quote(here, safe="/")


def page_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    """The signed-in user of a page (``LoginRequired`` → redirect to the sign-in page)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired("请先登录 / sign in first")
    try:
        claims = read_token(token=token, secret=settings.secret_key)
    except NotAuthenticated:
        raise LoginRequired("登录已过期 / the sign-in expired") from None
    user = token_user(
        session=session, claims=claims
    )  # disabled, password changed, role moved: sign in anew
    if user is None:
        raise LoginRequired("登录凭证已失效 / the sign-in is revoked or no longer matches the user")
    # The error pages show who is signed in, after the request's session rolled back and
    # expired the row: keep a plain copy of what they show.
    request.state.user = SimpleNamespace(
        name=user.name, role=user.role, cooperative_id=user.cooperative_id
    )
    return user


PageUser = Annotated[User, Depends(page_user)]


def _payout_staff(user: PageUser) -> User:
    """Reviewers and admins create runs, adjust, price lots, export and mark paid."""
    if user.role not in ("reviewer", "admin"):
        raise Forbidden("需要审核员或管理员权限 / this needs the reviewer or admin role")
    return user


def _reviewer(user: PageUser) -> User:
    if user.role != "reviewer":
        raise Forbidden("只有审核员可以审批结算 / only a reviewer can approve a payout")
    return user


PayoutPageUser = Annotated[User, Depends(_payout_staff)]
ReviewerPageUser = Annotated[User, Depends(_reviewer)]


def _login_page(
    request: Request,
    *,
    next_url: str,
    name: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    ctx = {"next": next_url, "name": name, "errors": errors or {}, "user": None, "nav": ""}
    return render(request, "coop_login.html", ctx, status=status)


@router.get("/coop", response_model=None)
def coop_home() -> RedirectResponse:
    return RedirectResponse("/coop/runs", status_code=303)


@router.get("/coop/login", response_model=None)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
    return _login_page(request, next_url=safe_next(next))


@router.post("/coop/login", response_model=None)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",  # noqa: A002
) -> Response:
    target = safe_next(next)
    name = name.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "login.err.name_required"
    if not password:
        errors["password"] = "login.err.password_required"  # noqa: S105 - a message key
    user: User | None = None
    if not errors:
        try:
            user = await sign_in(
                session=session, throttle=request.app.state.sign_in, name=name, password=password,
                address=client_address(request),
            )
        except UserDisabled:
            errors["name"] = "login.err.disabled"
        except NotAuthenticated:
            errors["password"] = "login.err.wrong"  # noqa: S105 - a message key
        except TooManyAttempts:
            errors["password"] = "login.err.locked"  # noqa: S105 - a message key
            return _login_page(request, next_url=target, name=name, errors=errors, status=429)
    if user is None:
        return _login_page(request, next_url=target, name=name, errors=errors, status=422)
    token = make_token(
        user=user, secret=settings.secret_key, ttl_minutes=settings.token_ttl_minutes
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.token_ttl_minutes * 60,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/coop/logout", response_model=None)
def logout(request: Request) -> RedirectResponse:
    response = RedirectResponse("/coop/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response
