"""The audit log: one row per admin action or refused admin request (``db.audit_log``).

``actor`` is never the token itself: ``token:`` and the first 12 hex digits of its SHA-256 (the
same token always gives the same fingerprint, so an operator can tell clients apart), or
``anonymous`` when no token was presented.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from recommender.database import db

OUTCOMES = ("ok", "failed", "refused")


def actor(token: str | None) -> str:
    """Return the fingerprint that stands for ``token`` in the log."""
    if not token:
        return "anonymous"
    return "token:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def write(engine: Engine, action: str, who: str, outcome: str, detail: dict[str, Any]) -> None:
    """Append one row to the audit log (its own transaction, so a failed action is still logged)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    values = {
        "at": datetime.now(UTC),
        "action": action,
        "actor": who,
        "outcome": outcome,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    }
    db.write_retrying(
        engine, lambda conn: conn.execute(sa.insert(db.audit_log).values(values)), "the audit entry"
    )


def entries(engine: Engine, limit: int | None = None) -> list[dict[str, Any]]:
    """Return the latest rows first, with ``detail`` parsed."""
    table = db.audit_log
    stmt = sa.select(table).order_by(table.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows
