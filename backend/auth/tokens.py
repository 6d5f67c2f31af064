"""Bearer tokens: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from backend.extensions import db
from backend.models import AuthToken, User


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(AuthToken(user_id=user.id, token_hash=_digest(token)))
    db.session.commit()
    return token


def resolve(token: str) -> User | None:
    return db.session.scalar(
        sa.select(User).join(AuthToken).where(AuthToken.token_hash == _digest(token))
    )


def revoke(token: str) -> None:
    db.session.execute(sa.delete(AuthToken).where(AuthToken.token_hash == _digest(token)))
    db.session.commit()
