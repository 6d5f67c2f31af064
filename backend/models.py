"""Database models. The schema itself is created by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db

FILE = "file"
FOLDER = "folder"
PROCESSING = "processing"
STORED = "stored"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores naive UTC (portable across SQLite and MySQL) and returns aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthToken(db.Model):
    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Item(db.Model):
    """A file or a folder. `parent_key` is `parent_id` or 0 for the root, so that the
    unique (user, folder, name) constraint also holds in the root. Ids are never handed
    out twice (AUTOINCREMENT on SQLite), so work that names a deleted item by its id
    cannot land on a newer one."""

    __tablename__ = "items"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "parent_key", "name", name="uq_items_folder_name"),
        sa.Index("ix_items_listing", "user_id", "parent_key", "kind", "sort_key", "id"),
        sa.Index("ix_items_state", "state", "retry_at"),
        sa.Index("ix_items_sha256", "sha256"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("items.id", ondelete="CASCADE"), index=True
    )
    parent_key: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(6))
    name: Mapped[str] = mapped_column(sa.String(255))
    sort_key: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    mtime: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str | None] = mapped_column(sa.String(10))
    stored_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    codec: Mapped[str | None] = mapped_column(sa.String(32))
    staging_key: Mapped[str | None] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def place(self, parent_id: int | None, name: str) -> None:
        """Put the item at `name` inside `parent_id` (None: the root)."""
        self.parent_id = parent_id
        self.parent_key = parent_id or 0
        self.name = name
        self.sort_key = sort_key(name)


def sort_key(name: str) -> str:
    """Case-insensitive ordering key; truncation keeps it indexable and stays deterministic."""
    return name.casefold()[:255]


class Upload(db.Model):
    """A tus upload session. `file_id` is set once the upload has produced its file."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(32), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    length: Mapped[int] = mapped_column(sa.BigInteger)
    offset: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    metadata_header: Mapped[str] = mapped_column(sa.Text)
    filename: Mapped[str] = mapped_column(sa.String(255))
    parent_id: Mapped[int | None] = mapped_column(sa.Integer)
    mtime: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lock_token: Mapped[str | None] = mapped_column(sa.String(32))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    file_id: Mapped[int | None] = mapped_column(sa.Integer)


class BlobDeletion(db.Model):
    """A blob that may have lost its last reference; the worker re-checks, then deletes it."""

    __tablename__ = "blob_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
