"""Local government reorganisation scenarios: named, each council going to one successor.

Revision ID: 0003
Revises: 0002

``scenarios`` holds one row per scenario (a unique slug-like ``name``, a description, when it
was made); ``scenario_councils`` one row per council the scenario reorganises, with the code and
name of the successor unitary it goes to. The primary key (scenario, council) is the rule that
a council goes to one successor only. Everything else a scenario says (facts, geometry,
adjacency, what happens to arrangements) is derived from the reference data when it is read
(``recommender.scenario``), never stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "scenario_councils",
        sa.Column(
            "scenario_id",
            sa.Integer,
            sa.ForeignKey("scenarios.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("council_code", sa.String(16), primary_key=True),
        sa.Column("successor_code", sa.String(16), nullable=False),
        sa.Column("successor_name", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scenario_councils")
    op.drop_table("scenarios")
