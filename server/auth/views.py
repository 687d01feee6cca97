"""Sign-in (bearer tokens) and user management."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.auth.models import User
from server.auth.service import (
    create_user,
    disable_user,
    enable_user,
    make_token,
    set_password,
    sign_in,
    user_by_id,
)
from server.core.deps import (
    AdminUser,
    CurrentUser,
    RowId,
    SessionDep,
    SettingsDep,
    client_address,
)
from server.core.errors import Invalid, NotAuthenticated

router = APIRouter(prefix="/api/v1", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 scheme name


class UserOut(BaseModel):
    id: int
    name: str
    role: str
    cooperative: str | None
    disabled: bool = Field(description="停用：不能登录 / disabled: cannot sign in, no token works")

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            name=user.name,
            role=user.role,
            cooperative=user.cooperative_id,
            disabled=user.disabled_at is not None,
        )


class NewPasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    new_password: str = Field(min_length=8, max_length=200)


class PasswordChangeBody(NewPasswordBody):
    current_password: str = Field(min_length=1, max_length=200)


class UserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    role: Literal["operator", "reviewer", "admin"]
    cooperative: str | None = Field(default=None, max_length=64)
    password: str = Field(min_length=8, max_length=200)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={
        401: {"description": "wrong user name or password, or the user is disabled"},
        429: {"description": "too many failed sign-ins (Retry-After says how long)"},
    },
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> TokenOut:
    """Exchange a user name and password for a bearer token (throttled per user and address)."""
    user = await sign_in(
        session=session,
        throttle=request.app.state.sign_in,
        name=form.username,
        password=form.password,
        address=client_address(request),
    )
    return TokenOut(
        access_token=make_token(
            user=user, secret=settings.secret_key, ttl_minutes=settings.token_ttl_minutes
        )
    )


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.post(
    "/me/password",
    response_model=TokenOut,
    responses={
        422: {"description": "the current password is wrong, or the new one too short"},
        429: {"description": "too many failed sign-ins (Retry-After says how long)"},
    },
)
async def change_own_password(
    body: PasswordChangeBody,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> TokenOut:
    """Change one's own password: every earlier token of the user stops working (on every
    worker); the answer carries a new token. The current password is checked like a
    sign-in (throttled, hashed off the event loop)."""
    throttle = request.app.state.sign_in
    name = user.name
    try:
        me = await sign_in(
            session=session, throttle=throttle, name=name, password=body.current_password,
            address=client_address(request),
        )
    except NotAuthenticated:
        raise Invalid(
            "当前密码错误 / the current password is wrong", detail={"field": "current_password"}
        ) from None

    def change() -> str:
        set_password(session=session, user=me, password=body.new_password, actor=name)
        return make_token(
            user=me, secret=settings.secret_key, ttl_minutes=settings.token_ttl_minutes
        )

    return TokenOut(access_token=await throttle.hash_slot(change))


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserBody, session: SessionDep, admin: AdminUser) -> UserOut:
    user = create_user(
        session=session,
        name=body.name,
        role=body.role,
        password=body.password,
        cooperative_id=body.cooperative,
        actor=admin.name,
    )
    return UserOut.of(user)


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, admin: AdminUser) -> list[UserOut]:
    return [UserOut.of(u) for u in session.scalars(select(User).order_by(User.id))]


@router.post(
    "/users/{user_id}/disable",
    response_model=UserOut,
    responses={409: {"description": "already disabled, or the last enabled admin"}},
)
def disable(user_id: RowId, session: SessionDep, admin: AdminUser) -> UserOut:
    """Disable a user: they cannot sign in, and their tokens stop working at once."""
    user = user_by_id(session=session, user_id=user_id)
    disable_user(session=session, user=user, actor=admin.name)
    return UserOut.of(user)


@router.post(
    "/users/{user_id}/enable",
    response_model=UserOut,
    responses={409: {"description": "the user is not disabled"}},
)
def enable(user_id: RowId, session: SessionDep, admin: AdminUser) -> UserOut:
    """Enable a disabled user again (they sign in anew; old tokens stay revoked)."""
    user = user_by_id(session=session, user_id=user_id)
    enable_user(session=session, user=user, actor=admin.name)
    return UserOut.of(user)


@router.post("/users/{user_id}/password", response_model=UserOut)
def reset_password(
    user_id: RowId, body: NewPasswordBody, session: SessionDep, admin: AdminUser
) -> UserOut:
    """Set a user's password (an admin's reset): their earlier tokens stop working."""
    user = user_by_id(session=session, user_id=user_id)
    set_password(session=session, user=user, password=body.new_password, actor=admin.name)
    return UserOut.of(user)
