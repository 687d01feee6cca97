"""Sign-in (bearer tokens) and user management."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from server.auth.service import create_user, make_token, sign_in
from server.core.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, client_address

router = APIRouter(prefix="/api/v1", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 scheme name


class UserOut(BaseModel):
    id: int
    name: str
    role: str
    cooperative: str | None


class UserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    role: Literal["operator", "reviewer", "admin"]
    cooperative: str | None = Field(default=None, max_length=64)
    password: str = Field(min_length=8, max_length=200)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={429: {"description": "too many failed sign-ins (Retry-After says how long)"}},
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> TokenOut:
    """Exchange a user name and password for a bearer token (throttled per user and address)."""
    user = await sign_in(
        session, request.app.state.sign_in, name=form.username, password=form.password,
        address=client_address(request),
    )
    return TokenOut(
        access_token=make_token(
            user, secret=settings.secret_key, ttl_minutes=settings.token_ttl_minutes
        )
    )


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut(id=user.id, name=user.name, role=user.role, cooperative=user.cooperative_id)


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserBody, session: SessionDep, admin: AdminUser) -> UserOut:
    user = create_user(
        session,
        name=body.name,
        role=body.role,
        password=body.password,
        cooperative_id=body.cooperative,
        actor=admin.name,
    )
    return UserOut(id=user.id, name=user.name, role=user.role, cooperative=user.cooperative_id)
