"""The audit log (``recommender.database.audit``) on SQLite and PostgreSQL: rows, order, no
tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from recommender.core.config import Settings
from recommender.database import audit, db


@pytest.fixture
def engine(database_url: str, tmp_path: Path) -> Iterator[sa.Engine]:
    with db.connect(Settings(root=tmp_path, database_url=database_url)) as engine:
        yield engine


def test_entries_come_back_latest_first_with_their_detail(engine: sa.Engine) -> None:
    audit.write(engine, "promote", audit.actor("secret token"), "ok", {"version": "v1", "n": 2})
    audit.write(engine, "reload", "anonymous", "refused", {"reason": "no token", "é": "ü"})
    latest, first = audit.entries(engine)
    assert (latest["action"], latest["actor"], latest["outcome"]) == (
        "reload",
        "anonymous",
        "refused",
    )
    assert latest["detail"] == {"reason": "no token", "é": "ü"}
    assert first["detail"] == {"version": "v1", "n": 2} and first["at"] <= latest["at"]
    assert first["actor"].startswith("token:") and "secret" not in first["actor"]
    assert audit.entries(engine, limit=1) == [latest]


def test_an_unknown_outcome_is_refused_and_nothing_written(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="unknown outcome 'maybe'"):
        audit.write(engine, "promote", "anonymous", "maybe", {})
    assert audit.entries(engine) == []
