"""Users, tokens, items, uploads and the blob deletion queue.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _table_options() -> dict[str, str]:
    """utf8mb4 with a binary, no-pad collation on MySQL/MariaDB (names compare exactly,
    trailing spaces included); nothing elsewhere."""
    dialect = op.get_bind().dialect
    if dialect.name not in ("mysql", "mariadb"):
        return {}
    collation = "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_0900_bin"
    return {"mysql_charset": "utf8mb4", "mysql_collate": collation, "mysql_engine": "InnoDB"}


def upgrade() -> None:
    options = _table_options()
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.UniqueConstraint("username", name="uq_users_username"),
        **options,
    )
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_auth_tokens_user"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_auth_tokens_hash"),
        **options,
    )
    op.create_index("ix_auth_tokens_user_id", "auth_tokens", ["user_id"])
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_items_user"),
            nullable=False,
        ),
        sa.Column(
            "parent_id",
            sa.Integer,
            sa.ForeignKey("items.id", ondelete="CASCADE", name="fk_items_parent"),
            nullable=True,
        ),
        sa.Column("parent_key", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(6), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("sort_key", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("mtime", sa.DateTime, nullable=True),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("state", sa.String(10), nullable=True),
        sa.Column("stored_size", sa.BigInteger, nullable=True),
        sa.Column("codec", sa.String(32), nullable=True),
        sa.Column("staging_key", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("retry_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("user_id", "parent_key", "name", name="uq_items_folder_name"),
        **options,
    )
    op.create_index("ix_items_parent_id", "items", ["parent_id"])
    op.create_index(
        "ix_items_listing", "items", ["user_id", "parent_key", "kind", "sort_key", "id"]
    )
    op.create_index("ix_items_state", "items", ["state", "retry_at"])
    op.create_index("ix_items_sha256", "items", ["sha256"])
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_uploads_user"),
            nullable=False,
        ),
        sa.Column("length", sa.BigInteger, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("metadata_header", sa.Text, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("parent_id", sa.Integer, nullable=True),
        sa.Column("mtime", sa.DateTime, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("expires", sa.DateTime, nullable=False),
        sa.Column("lock_token", sa.String(32), nullable=True),
        sa.Column("locked_at", sa.DateTime, nullable=True),
        sa.Column("file_id", sa.Integer, nullable=True),
        sa.UniqueConstraint("uid", name="uq_uploads_uid"),
        **options,
    )
    op.create_index("ix_uploads_user_id", "uploads", ["user_id"])
    op.create_index("ix_uploads_expires", "uploads", ["expires"])
    op.create_table(
        "blob_deletions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        **options,
    )


def downgrade() -> None:
    op.drop_table("blob_deletions")
    op.drop_table("uploads")
    op.drop_table("items")
    op.drop_table("auth_tokens")
    op.drop_table("users")
