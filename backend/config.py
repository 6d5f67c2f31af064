"""Configuration read from environment variables (see DESIGN.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_UPLOAD_BYTES = 1 << 40  # 1 TiB
DEFAULT_MAX_REQUEST_BYTES = 4 << 30  # one PATCH body; clients send files in chunks
DEFAULT_THUMBNAIL_MEMORY_BYTES = 256 << 20  # what thumbnail decodes may hold at once
# Files handed to the compressor at once: its pool has a worker per core (up to 4 here).
DEFAULT_STORE_THREADS = min(4, os.cpu_count() or 1)


class ConfigError(ValueError):
    """An environment variable holds a value the backend cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(
    env: Mapping[str, str], name: str, default: float, minimum: float | None = None
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if minimum is None and value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    compressor_url: str = "http://127.0.0.1:8081"
    compressor_data_dir: Path | None = None
    compressor_token: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    staging_min_free_bytes: int = 0
    upload_ttl_seconds: int = 24 * 3600
    worker_poll_seconds: float = 5.0
    store_defer_seconds: float = 30.0
    store_threads: int = DEFAULT_STORE_THREADS
    threads: int = 8
    database_wait_seconds: float = 120.0
    thumbnail_memory_bytes: int = DEFAULT_THUMBNAIL_MEMORY_BYTES

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def token_dir(self) -> Path:
        """Where the shared compressor token file lives."""
        return self.compressor_data_dir or self.data_dir / "compressor"

    @classmethod
    def for_data_dir(cls, data_dir: Path, **overrides: object) -> Config:
        """An embedded configuration: SQLite and staging inside `data_dir`."""
        data_dir = Path(data_dir).resolve()
        values: dict[str, object] = {
            "data_dir": data_dir,
            "database_url": f"sqlite:///{data_dir / 'trove.db'}",
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        data_dir = Path(env.get("TROVE_DATA_DIR") or "./data").resolve()
        compressor_dir = env.get("COMPRESSOR_DATA_DIR")
        return cls(
            data_dir=data_dir,
            database_url=env.get("TROVE_DATABASE_URL") or f"sqlite:///{data_dir / 'trove.db'}",
            host=env.get("TROVE_HOST") or "127.0.0.1",
            port=_int(env, "TROVE_PORT", 8080),
            compressor_url=(env.get("TROVE_COMPRESSOR_URL") or "http://127.0.0.1:8081").rstrip("/"),
            compressor_data_dir=Path(compressor_dir).resolve() if compressor_dir else None,
            compressor_token=(env.get("COMPRESSOR_TOKEN") or "").strip() or None,
            max_upload_bytes=_int(env, "TROVE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, 1),
            max_request_bytes=_int(env, "TROVE_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES, 1),
            staging_min_free_bytes=_int(env, "TROVE_STAGING_MIN_FREE_BYTES", 0),
            upload_ttl_seconds=_int(env, "TROVE_UPLOAD_TTL_SECONDS", 24 * 3600, 1),
            worker_poll_seconds=_float(env, "TROVE_WORKER_POLL_SECONDS", 5.0),
            store_defer_seconds=_float(env, "TROVE_STORE_DEFER_SECONDS", 30.0, minimum=0.0),
            store_threads=_int(env, "TROVE_STORE_THREADS", DEFAULT_STORE_THREADS, 1),
            threads=_int(env, "TROVE_THREADS", 16, 1),
            database_wait_seconds=_float(env, "TROVE_DATABASE_WAIT_SECONDS", 120.0),
            thumbnail_memory_bytes=_int(
                env, "TROVE_THUMBNAIL_MEMORY_BYTES", DEFAULT_THUMBNAIL_MEMORY_BYTES, 1
            ),
        )
