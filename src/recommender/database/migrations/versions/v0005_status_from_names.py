"""A real arrangement stored before imports read its name has the status its name says.

Revision ID: 0005
Revises: 0004

The documented arrangements give no status, so their names say it: "… (proposal)", "Wessex
Youth Offending Team (joint YOT, split 2012)". Since this version an import stores what such
a name says when the file gives no status nor end year (status ``proposed``; ``ended`` in the
year of the split, when that is not before the start). A database filled before kept them as
``unknown`` with no end year: every answer read the names, but the API's and an export's
``status`` said "unknown". This revision stores for those rows what an import now stores. The
name patterns are frozen here as they were at this revision (a later change to the import's
patterns does not rewrite a migration already run elsewhere). A status or an end year that a
row holds is kept, as an import keeps one the file gives.

Going back leaves the rows as they are: ``ended`` with its year is valid at 0004, and 0004's own
downgrade turns ``proposed`` into ``unknown``.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

PROPOSAL = re.compile(r"(?i)\(proposal\)\s*$")
SPLIT = re.compile(r"(?i)\((?:[^()]*[^()\w])?split (?:in )?(\d{4})\)\s*$")


def upgrade() -> None:
    conn = op.get_bind()
    unsaid = sa.text(
        "SELECT id, name, start_year, status FROM arrangements "
        "WHERE simulated = :no AND end_year IS NULL AND status IN ('unknown', 'ended')"
    )
    ended = sa.text("UPDATE arrangements SET status = 'ended', end_year = :year WHERE id = :id")
    proposed = sa.text("UPDATE arrangements SET status = 'proposed' WHERE id = :id")
    for ident, name, start, status in conn.execute(unsaid, {"no": False}).all():
        split = SPLIT.search(name)
        if split is not None and (start is None or start <= int(split.group(1))):
            conn.execute(ended, {"year": int(split.group(1)), "id": ident})
        elif status == "unknown" and PROPOSAL.search(name):
            conn.execute(proposed, {"id": ident})


def downgrade() -> None:
    pass  # see the module's docstring
