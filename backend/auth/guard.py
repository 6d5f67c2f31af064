"""`@login_required`: resolves the bearer token of the current request into `g.user`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import g, request

from backend.auth import tokens
from backend.models import User
from backend.problems import unauthorized

P = ParamSpec("P")
R = TypeVar("R")


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = bearer_token()
        if token is None:
            raise unauthorized()
        user = tokens.resolve(token)
        if user is None:
            raise unauthorized("The token is invalid or was revoked. Sign in again.")
        g.user = user
        g.token = token
        return view(*args, **kwargs)

    return wrapper


def current_user() -> User:
    user: User = g.user
    return user


def current_token() -> str:
    token: str = g.token
    return token
