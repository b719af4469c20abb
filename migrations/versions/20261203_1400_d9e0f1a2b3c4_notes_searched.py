"""Searching cases by the notes of their steps too

``reports.notes``: every note the loop's steps carried, oldest first (the timeline keeps each with
its step; this is the text the search index holds), filled from the events already there. The
search index ``ix_reports_search`` now covers the description, the address and the notes.

Revision ID: d9e0f1a2b3c4
Revises: c8d9e0f1a2b3
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d9e0f1a2b3c4"
down_revision = "c8d9e0f1a2b3"
branch_labels = None
depends_on = None

BEFORE = "gridwatch_grams(coalesce(description, '') || ' ' || coalesce(address, ''))"
AFTER = (
    "gridwatch_grams(coalesce(description, '') || ' ' || coalesce(address, '') || ' ' || coalesce(notes, ''))"
)


def upgrade() -> None:
    op.add_column("reports", sa.Column("notes", sa.Text(), nullable=True))
    op.execute("""
        UPDATE reports r SET notes = n.notes
        FROM (SELECT report_id, string_agg(note, E'\\n' ORDER BY id) AS notes
              FROM report_events WHERE note IS NOT NULL AND action <> 'regrid' GROUP BY report_id) n
        WHERE n.report_id = r.id""")
    op.execute("DROP INDEX ix_reports_search")
    op.execute(f"CREATE INDEX ix_reports_search ON reports USING gin ({AFTER})")


def downgrade() -> None:
    op.execute("DROP INDEX ix_reports_search")
    op.execute(f"CREATE INDEX ix_reports_search ON reports USING gin ({BEFORE})")
    op.drop_column("reports", "notes")
