"""Password hashing with scrypt (memory-hard) and a per-user random salt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# 2^15 * 8 * 128 bytes = 32 MiB of memory per hash.
_N, _R, _P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024
_KEY_LEN = 32
_SCHEME = "scrypt"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_KEY_LEN
    )


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$key`, all parameters stored so they can be raised later."""
    salt = secrets.token_bytes(16)
    key = _derive(password, salt, _N, _R, _P)
    return f"{_SCHEME}${_N}${_R}${_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(key)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# Verified against when the user does not exist, so both paths cost the same time.
DUMMY_HASH = hash_password(secrets.token_hex(16))
