"""/cases sorted by deadline or by the loop's order, a page at a time

``ix_reports_deadline`` (deadline, id) and ``ix_reports_loop_order`` (a status's place in the loop,
id), and the category's, grid's and department's indexes with the id after them: a sorted page of
50 is read from an index's end instead of sorting a million rows (a million cases without a
department were sorted by id to find the first 50 going down).

Revision ID: b7c8d9e0f1a2
Revises: a6b7c8d9e0f1
Create Date: 2026-12-03 11:00:00
"""

from alembic import op

revision = "b7c8d9e0f1a2"
down_revision = "a6b7c8d9e0f1"
branch_labels = None
depends_on = None

# gis.models.REPORT_STATUSES: the loop, a case voided at acceptance after "accepted"
STATUSES = ("reported", "accepted", "voided", "opened", "dispatched", "handled", "verified", "closed")


COLUMNS = ("category_code", "grid_id", "department_id")


def upgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_reports_{column}", table_name="reports")
        op.create_index(f"ix_reports_{column}", "reports", [column, "id"])
    op.create_index("ix_reports_deadline", "reports", ["deadline_at", "id"])
    order = "array_position(ARRAY[" + ", ".join(f"'{s}'::text" for s in STATUSES) + "], (status)::text)"
    op.execute(f"CREATE INDEX ix_reports_loop_order ON reports ({order}, id)")


def downgrade() -> None:
    op.drop_index("ix_reports_loop_order", table_name="reports")
    op.drop_index("ix_reports_deadline", table_name="reports")
    for column in COLUMNS:
        op.drop_index(f"ix_reports_{column}", table_name="reports")
        op.create_index(f"ix_reports_{column}", "reports", [column])
