"""The case policy's data: supervisors' areas, session versions, categories' privacy classes,
departments recorded on dispatch events, reads of personal data, failed log-ins, and the masking
functions

- ``users.area_code``: a supervisor's or dispatcher's district, street or community (NULL: all).
- ``users.session_version``: in every session and remember-cookie; log-out and a new password
  raise it, ending them all.
- ``categories.privacy``: public / internal / personal, set from the category tree
  (gis/cases/categories.py) and changeable by admins afterwards.
- ``report_events.department_id``: the department a dispatch sent the case to, so a department
  keeps reading a case it once had (backfilled from the dispatch events' department names).
- an index on ``reports.reporter_id``: everyone reads what they reported.
- ``personal_reads``: who read which personal case without handling it, when, through which door.
- ``login_failures``: failed log-ins per account and per address, shared by all server processes.
- ``gridwatch_mask_text`` (phone numbers, 18-digit ID numbers, e-mail addresses in free text),
  ``gridwatch_mask_name`` (王*) and ``gridwatch_mask_address`` (up to the road or compound):
  the one home of masking (gis/privacy.py names them); lists and Open311 call them in SQL.

Revision ID: e8f9a0b1c2d3
Revises: d7e8f9a0b1c2
Create Date: 2026-12-01 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e8f9a0b1c2d3"
down_revision = "d7e8f9a0b1c2"
branch_labels = None
depends_on = None

# The tree's classes when this migration ran (groups; leaves inherit): later changes are admins'.
PRIVACY = {"21": "personal", "22": "personal", "25": "personal", "23": "internal", "24": "internal"}

MASK_FUNCTIONS = r"""
CREATE FUNCTION gridwatch_mask_text(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN
    regexp_replace(regexp_replace(regexp_replace(regexp_replace(t,
        -- 18-digit resident ID numbers: region and last four kept
        '(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])', '\1********\2', 'g'),
        -- mobile numbers (+86 optional, spaces or hyphens allowed): 138****8000
        '(?<![0-9])((?:\+?86[- ]?)?1[3-9][0-9])[- ]?[0-9]{4}[- ]?([0-9]{4})(?![0-9])', '\1****\2', 'g'),
        -- fixed lines with their area code: 0990-****1234
        '(?<![0-9])(0[0-9]{2,3}[- ]?)[0-9]{3,4}([0-9]{4})(?![0-9])', '\1****\2', 'g'),
        -- e-mail addresses: r***@example.cn
        '([A-Za-z0-9])[A-Za-z0-9._+-]*(@[A-Za-z0-9-]+\.[A-Za-z0-9.-]+)', '\1***\2', 'g');

CREATE FUNCTION gridwatch_mask_name(n text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN
    CASE WHEN coalesce(n, '') = '' THEN n
         ELSE left(n, 1) || repeat('*', greatest(char_length(n) - 1, 1)) END;

CREATE FUNCTION gridwatch_mask_address(a text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN
    CASE WHEN coalesce(a, '') = '' THEN a
         WHEN a ~ '(路|街|巷|弄|道|村|小区|社区|苑|园)'
             THEN substring(a FROM '^.*?(?:路|街|巷|弄|道|村|小区|社区|苑|园)') || '***'
         ELSE left(a, 2) || '***' END;
"""


def upgrade() -> None:
    op.add_column("users", sa.Column("area_code", sa.String(12), nullable=True))
    op.create_check_constraint(op.f("ck_users_area_code"), "users", "area_code ~ '^[0-9]{6}([0-9]{3}){0,2}$'")
    op.add_column("users", sa.Column("session_version", sa.Integer(), server_default="1", nullable=False))

    op.add_column("categories", sa.Column("privacy", sa.String(8), server_default="internal", nullable=False))
    op.create_check_constraint(
        op.f("ck_categories_privacy"), "categories", "privacy IN ('public', 'internal', 'personal')"
    )
    op.execute("UPDATE categories SET privacy = 'public'")
    for group, privacy in PRIVACY.items():
        op.execute(f"UPDATE categories SET privacy = '{privacy}' WHERE left(code, 2) = '{group}'")

    op.add_column(
        "report_events",
        sa.Column(
            "department_id",
            sa.Integer(),
            sa.ForeignKey("departments.id", name=op.f("fk_report_events_department_id_departments")),
            nullable=True,
        ),
    )
    op.execute("""
        UPDATE report_events e SET department_id = d.id FROM departments d
        WHERE e.action = 'dispatch' AND e.data ->> 'department' = d.name""")
    op.create_index(
        "ix_report_events_department",
        "report_events",
        ["department_id", "report_id"],
        postgresql_where=sa.text("department_id IS NOT NULL"),
    )

    # a grid worker's scope is "their grids or what they reported": both sides through an index
    op.create_index("ix_reports_reporter_id", "reports", ["reporter_id"])
    op.create_table(
        "personal_reads",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL", name=op.f("fk_personal_reads_user_id_users")),
            nullable=True,
        ),
        sa.Column("subject", sa.String(12), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_reads")),
    )
    op.create_index("ix_personal_reads_at", "personal_reads", ["at"])
    op.create_table(
        "login_failures",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.get_bind().exec_driver_sql(MASK_FUNCTIONS)  # as written: "(?:" is no bind parameter


def downgrade() -> None:
    for name in ("gridwatch_mask_text", "gridwatch_mask_name", "gridwatch_mask_address"):
        op.execute(f"DROP FUNCTION {name}(text)")
    op.drop_table("login_failures")
    op.drop_index("ix_personal_reads_at", table_name="personal_reads")
    op.drop_table("personal_reads")
    op.drop_index("ix_report_events_department", table_name="report_events")
    op.drop_index("ix_reports_reporter_id", table_name="reports")
    op.drop_column("report_events", "department_id")
    op.drop_constraint(op.f("ck_categories_privacy"), "categories")
    op.drop_column("categories", "privacy")
    op.drop_column("users", "session_version")
    op.drop_constraint(op.f("ck_users_area_code"), "users")
    op.drop_column("users", "area_code")
