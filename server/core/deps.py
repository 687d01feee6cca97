"""FastAPI dependencies: the request's session, settings, current user, station key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session, sessionmaker

from gongfang.settings import ServerSettings
from server.auth.models import User
from server.auth.service import read_token, token_user
from server.core.errors import Forbidden, NotAuthenticated
from server.stations.models import Station
from server.stations.service import station_for_key

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


def get_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def get_session(request: Request) -> Iterator[Session]:
    """The request owns the transaction: commit when the handler succeeded, else roll back."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SettingsDep = Annotated[ServerSettings, Depends(get_settings)]
# scope="function": commit before the response goes out, so a failed commit is an error
# answer and a 200 always means stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
FactoryDep = Annotated[sessionmaker[Session], Depends(get_factory)]


def get_current_user(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    if not token:
        raise NotAuthenticated("请先登录 / sign in first (Authorization: Bearer <token>)")
    claims = read_token(token=token, secret=settings.secret_key)
    # Checked against the database on every request: a disable or a password change
    # revokes the token at once, on every worker.
    user = token_user(session=session, claims=claims)
    if user is None:
        raise NotAuthenticated("登录凭证已失效 / the token is revoked or no longer matches")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise Forbidden("需要管理员权限 / this needs the admin role")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def require_payout_staff(user: CurrentUser) -> User:
    """Reviewers (their cooperative) and admins run, adjust and export payouts."""
    if user.role not in ("reviewer", "admin"):
        raise Forbidden("需要审核员或管理员权限 / this needs the reviewer or admin role")
    return user


PayoutStaff = Annotated[User, Depends(require_payout_staff)]


def require_reviewer(user: CurrentUser) -> User:
    if user.role != "reviewer":
        raise Forbidden("只有审核员可以审批结算 / only a reviewer can approve a payout")
    return user


Reviewer = Annotated[User, Depends(require_reviewer)]


def check_cooperative(user: User, cooperative_id: str) -> None:
    """Admins see every cooperative; everyone else only their own."""
    if user.role != "admin" and user.cooperative_id != cooperative_id:
        raise Forbidden("无权访问其他合作社的数据 / no access to another cooperative's data")


def scope_cooperative(user: User, requested: str | None) -> str | None:
    """The cooperative a listing is limited to (``None``: all, for admins only)."""
    if user.role == "admin":
        return requested
    if user.cooperative_id is None:
        raise Forbidden("该用户不属于任何合作社 / this user belongs to no cooperative")
    if requested is not None:
        check_cooperative(user, requested)
    return user.cooperative_id


def get_station(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> Station:
    """The station whose API key came in ``X-Api-Key`` (401 when missing or unknown)."""
    if not x_api_key:
        raise NotAuthenticated("缺少收购站密钥 / missing X-Api-Key header")
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        station = station_for_key(session=session, key=x_api_key)
        if station is None:
            raise NotAuthenticated("收购站密钥无效 / unknown station API key")
        session.expunge(station)
        session.commit()
    return station


StationDep = Annotated[Station, Depends(get_station)]


def client_address(request: Request) -> str:
    """The client's address as the ASGI server saw it (behind a proxy, run uvicorn with
    ``--proxy-headers --forwarded-allow-ips`` set to the proxy's address only)."""
    return request.client.host if request.client else "unknown"


MAX_ROW_ID = 2**63 - 1  # a BIGINT key: larger ids are not ours (and overflow the driver)
#: A database row id in a path: 1 … 2^63−1, else 422 before any query runs.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
