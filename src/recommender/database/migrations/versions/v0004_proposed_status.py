"""An arrangement may be recorded as only proposed.

Revision ID: 0004
Revises: 0003

``arrangements.status`` takes ``proposed`` beside ``active``, ``ended`` and ``unknown``: a
business case, a bid or talks that are not known to have formed. Such an arrangement is never
stated as a partnership, as one whose name says "(proposal)" was not before this revision
either. Going back, a proposed arrangement becomes ``unknown`` and keeps its name.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

BEFORE = "status IN ('active', 'ended', 'unknown')"
AFTER = "status IN ('active', 'ended', 'unknown', 'proposed')"


def upgrade() -> None:
    _check(AFTER)


def downgrade() -> None:
    op.execute("UPDATE arrangements SET status = 'unknown' WHERE status = 'proposed'")
    _check(BEFORE)


def _check(condition: str) -> None:
    # SQLite cannot alter a constraint: the batch copies the table without the old check (read
    # back by reflection) and with the new one.
    with op.batch_alter_table("arrangements", recreate="auto") as batch:
        batch.drop_constraint("ck_status", type_="check")
        batch.create_check_constraint("ck_status", condition)
