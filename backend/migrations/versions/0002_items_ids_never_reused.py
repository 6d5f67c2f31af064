"""Item ids are never handed out again on SQLite.

Without AUTOINCREMENT, SQLite gives a new row the largest id in the table plus one, so
deleting the newest file frees its id for the next one: work still under way for the
deleted file (the store worker, an upload session that made it) then lands on the new
file. MySQL and MariaDB keep their AUTO_INCREMENT counter, so only SQLite's table is
rebuilt (see `backend.migrate` for how foreign keys are kept intact meanwhile).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "items", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass
    # Ids freed before this migration stay unused where upload sessions still name them.
    op.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'items', 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'items')"
    )
    op.execute(
        "UPDATE sqlite_sequence SET seq = MAX(seq, "
        "(SELECT COALESCE(MAX(file_id), 0) FROM uploads)) WHERE name = 'items'"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "items", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
