"""The schema as ``create_all`` made it before migrations: arrangements, members, imports,
feedback, audit_log.

Revision ID: 0001
Revises: (none)

Written out in full rather than read from ``db.metadata``: a revision is history and must not
change when the tables do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_{column}")


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("layout", sa.Text, nullable=False),
    )
    op.create_table(
        "arrangements",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("start_year", sa.Integer),
        sa.Column("end_year", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False, server_default="unknown"),
        sa.Column("savings_gbp", sa.Float),
        sa.Column("savings_basis", sa.String(16), nullable=False, server_default="unknown"),
        sa.Column("savings_period_years", sa.Integer),
        sa.Column("annual_savings_gbp", sa.Float),
        sa.Column("savings_aim", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("simulated", sa.Boolean, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id")),
        _one_of("status", ("active", "ended", "unknown")),
        _one_of("savings_basis", ("annual", "to_date", "cumulative", "projected", "unknown")),
    )
    op.create_index("ix_arrangements_service", "arrangements", ["service"])
    op.create_index("ix_arrangements_simulated", "arrangements", ["simulated"])
    op.create_table(
        "members",
        sa.Column(
            "arrangement_id",
            sa.String(64),
            sa.ForeignKey("arrangements.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("body_code", sa.String(16)),
        sa.Column("name_as_given", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("resolution", sa.Text, nullable=False),
        _one_of("role", ("lead", "partner", "external")),
    )
    op.create_index("ix_members_body_code", "members", ["body_code"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body_code", sa.String(16), nullable=False),
        sa.Column("partner_code", sa.String(16)),
        sa.Column("service", sa.String(64)),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("model_version", sa.Text),
        _one_of("verdict", ("interested", "not_relevant", "already_sharing", "other")),
    )
    op.create_index("ix_feedback_body_code", "feedback", ["body_code"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.Column("outcome", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_log", "feedback", "members", "arrangements", "imports"):
        op.drop_table(table)
