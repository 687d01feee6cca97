"""Users, argon2 password hashes and HMAC-signed bearer tokens.

A token is ``base64url(claims JSON).base64url(HMAC-SHA256(secret, claims))``; claims hold
the user id, role, cooperative, token version and expiry. Every request checks the claims
against the user's row (:func:`token_user`): a disabled user, or a token of an earlier
version (the password changed, or the user was disabled since), is refused.

Roles: ``operator`` (station work, read-only here), ``reviewer`` (one cooperative: runs,
adjusts, approves its payouts), ``admin``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import anyio
from pwdlib import PasswordHash
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.models import User
from server.auth.throttle import SignInThrottle
from server.core.db import utcnow
from server.core.errors import Conflict, Invalid, NotAuthenticated, NotFound
from server.stations.models import Cooperative

ROLES = ("operator", "reviewer", "admin")
_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(*, password: str, hashed: str) -> bool:
    return _hasher.verify(password, hashed)


def check_password_rule(password: str) -> None:
    if len(password) < 8:
        raise Invalid("密码至少 8 个字符 / the password needs at least 8 characters")
    if len(password) > 200:
        raise Invalid("密码最多 200 个字符 / the password may have at most 200 characters")


def create_user(
    *, session: Session, name: str,
    role: str,
    password: str,
    cooperative_id: str | None = None,
    actor: str = "system",
) -> User:
    """A new user; reviewers (and operators) belong to a cooperative."""
    if role not in ROLES:
        raise Invalid(f"未知角色 / unknown role {role!r} (one of {', '.join(ROLES)})")
    if role == "reviewer" and cooperative_id is None:
        raise Invalid("审核员必须属于一个合作社 / a reviewer needs a cooperative")
    if cooperative_id is not None and session.get(Cooperative, cooperative_id) is None:
        raise Invalid(f"合作社不存在 / unknown cooperative {cooperative_id!r}")
    check_password_rule(password)
    if session.scalars(select(User).where(User.name == name)).first() is not None:
        raise Conflict(f"用户已存在 / user {name!r} already exists")
    user = User(
        name=name, role=role, cooperative_id=cooperative_id, password_hash=hash_password(password)
    )
    session.add(user)
    session.flush()
    record(
        session=session,
        actor=actor,
        action="user_created",
        entity="user",
        entity_id=str(user.id),
        name=name,
        role=role,
        cooperative=cooperative_id,
    )
    return user


def user_and_hash(*, session: Session, name: str) -> tuple[User | None, str]:
    """The user of that name and the hash to check a password against: a dummy hash for
    unknown names too, so both take the same time."""
    user = session.scalars(select(User).where(User.name == name)).first()
    return user, (user.password_hash if user is not None else _DUMMY)


class UserDisabled(NotAuthenticated):
    """The password matched, but an admin has disabled the user."""


def signed_in(*, user: User | None, ok: bool) -> User:
    """The user if the password matched and the user is enabled, else
    :class:`NotAuthenticated` (:class:`UserDisabled` only after a right password, so it
    tells nothing to someone guessing)."""
    if not ok or user is None:
        raise NotAuthenticated("用户名或密码错误 / wrong user name or password")
    if user.disabled_at is not None:
        raise UserDisabled("该用户已停用，请联系管理员 / this user is disabled: ask an admin")
    return user


def authenticate(*, session: Session, name: str, password: str) -> User:
    """Check a password in this thread (CLI, tests); pages and the API use
    :func:`sign_in`, which is throttled and hashes off the event loop."""
    user, hashed = user_and_hash(session=session, name=name)
    return signed_in(user=user, ok=verify_password(password=password, hashed=hashed))


async def sign_in(
    *, session: Session, throttle: SignInThrottle, name: str, password: str, address: str
) -> User:
    """A throttled sign-in: refused while the name or address is locked; failures count."""
    throttle.check(name=name, address=address)

    def lookup() -> tuple[User | None, str]:
        found = user_and_hash(session=session, name=name)
        # End the read before the slow hash: no transaction (on SQLite: no write lock,
        # taken at BEGIN) is held while this request waits for a hashing slot.
        session.commit()
        return found

    user, hashed = await anyio.to_thread.run_sync(lookup)
    ok = await throttle.hash_slot(lambda: verify_password(password=password, hashed=hashed))
    if not ok or user is None or user.disabled_at is not None:
        throttle.failed(name=name, address=address)
    else:
        throttle.succeeded(name=name)
    return signed_in(user=user, ok=ok)


_DUMMY = hash_password("not-a-real-password-0")


@dataclass(frozen=True)
class Claims:
    user_id: int
    name: str
    role: str
    cooperative_id: str | None
    token_version: int
    exp: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(*, user: User, secret: str, ttl_minutes: int) -> str:
    claims = {
        "sub": user.id,
        "name": user.name,
        "role": user.role,
        "coop": user.cooperative_id,
        "ver": user.token_version,
        "exp": int(time.time()) + ttl_minutes * 60,
    }
    body = _b64(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    sig = hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(sig)}"


def read_token(*, token: str, secret: str) -> Claims:
    bad = NotAuthenticated("登录凭证无效或已过期 / invalid or expired token")
    try:
        body, sig = token.split(".")
        expected = hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(sig)):
            raise bad
        doc = json.loads(_unb64(body))
        claims = Claims(
            user_id=int(doc["sub"]),
            name=str(doc["name"]),
            role=str(doc["role"]),
            cooperative_id=doc["coop"],
            # no "ver": a token from before versions existed, refused like a revoked one
            token_version=int(doc["ver"]),
            exp=int(doc["exp"]),
        )
    except NotAuthenticated:
        raise
    except (ValueError, KeyError, TypeError, UnicodeError):
        raise bad from None
    if claims.exp < time.time():
        raise bad
    return claims


def token_user(*, session: Session, claims: Claims) -> User | None:
    """The user a verified token speaks for, or ``None`` when the token no longer holds:
    the user is gone or disabled, their role or cooperative changed, or the token is of
    an earlier version (revoked by a password change or a disable)."""
    user = session.get(User, claims.user_id)
    if (
        user is None
        or user.disabled_at is not None
        or user.token_version != claims.token_version
        or user.role != claims.role
        or user.cooperative_id != claims.cooperative_id
    ):
        return None
    return user


def user_by_name(*, session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"用户不存在 / unknown user {name!r}")
    return user


def user_by_id(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户不存在 / unknown user {user_id}")
    return user


def revoke_tokens(user: User) -> None:
    """Every token issued to the user so far stops working (a new sign-in gets a new one)."""
    user.token_version += 1


def set_password(*, session: Session, user: User, password: str, actor: str) -> None:
    """Give the user a new password (hashed in this thread) and revoke their tokens."""
    check_password_rule(password)
    user.password_hash = hash_password(password)
    revoke_tokens(user)
    record(
        session=session,
        actor=actor,
        action="password_changed",
        entity="user",
        entity_id=str(user.id),
    )
    session.flush()


def disable_user(*, session: Session, user: User, actor: str) -> None:
    """Disable a user: no sign-in, and their tokens stop working at once (also after a
    later enable). The last enabled admin stays: someone must be able to enable others."""
    if user.disabled_at is not None:
        raise Conflict(f"用户已停用 / user {user.name!r} is already disabled")
    if user.role == "admin":
        others = session.scalars(
            select(User.id).where(
                User.role == "admin", User.disabled_at.is_(None), User.id != user.id
            )
        ).first()
        if others is None:
            raise Conflict(
                "不能停用最后一个管理员 / the last enabled admin cannot be disabled"
            )
    user.disabled_at = utcnow()
    revoke_tokens(user)
    record(
        session=session, actor=actor, action="user_disabled", entity="user", entity_id=str(user.id)
    )
    session.flush()


def enable_user(*, session: Session, user: User, actor: str) -> None:
    """Enable a disabled user again (they sign in anew: their old tokens stay revoked)."""
    if user.disabled_at is None:
        raise Conflict(f"用户未停用 / user {user.name!r} is not disabled")
    user.disabled_at = None
    record(
        session=session, actor=actor, action="user_enabled", entity="user", entity_id=str(user.id)
    )
    session.flush()
