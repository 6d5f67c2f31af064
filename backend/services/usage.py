"""Per-user totals: counts, original bytes and what storing them costs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.extensions import db
from backend.models import FILE, FOLDER, PROCESSING, STORED, Item


def _total(value: sa.ColumnElement[Any], condition: sa.ColumnElement[bool]) -> Any:
    """SUM(CASE WHEN condition THEN value ELSE 0 END): portable (MySQL has no FILTER)."""
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)


def usage(user_id: int) -> dict[str, Any]:
    row = db.session.execute(
        sa.select(
            _total(sa.literal(1), Item.kind == FILE),
            _total(sa.literal(1), Item.kind == FOLDER),
            _total(Item.size, Item.kind == FILE),
            _total(Item.stored_size, Item.state == STORED),
            _total(Item.size, Item.state == PROCESSING),
            _total(sa.literal(1), Item.state == PROCESSING),
        ).where(Item.user_id == user_id)
    ).one()
    files, folders, original, stored, staged, processing = (int(value) for value in row)
    stored_bytes = stored + staged
    return {
        "files": files,
        "folders": folders,
        "original_bytes": original,
        "stored_bytes": stored_bytes,
        "saved_bytes": original - stored_bytes,
        "processing": processing,
    }
