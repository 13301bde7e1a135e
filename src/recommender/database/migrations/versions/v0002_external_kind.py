"""Members outside the reference keep what kind of organisation they are.

Revision ID: 0002
Revises: 0001

``members.external_kind``: ``nhs_trust``, ``local_council`` (a town or parish council) or
``other`` for a member with no body code (see ``recommender.reference.rules.EXTERNAL_KINDS``);
NULL for a body of the reference. Existing external members (role ``external``) become
``other``: before this revision only companies and agencies could be external.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

CHECK = "external_kind IS NULL OR external_kind IN ('nhs_trust', 'local_council', 'other')"


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("external_kind", sa.String(32)))
        batch.create_check_constraint("ck_external_kind", CHECK)
    op.execute("UPDATE members SET external_kind = 'other' WHERE body_code IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint("ck_external_kind", type_="check")
        batch.drop_column("external_kind")
