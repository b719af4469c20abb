"""final cases' indicator counts per grid or department and local month, kept by triggers on reports

A closed or voided case never changes again, so its contribution to every indicator count is fixed
the moment it ends. The triggers add it to its (grid, month) and (department, month) rows then, and
take it back out if such a report is ever updated or deleted (a grid deleted sets its reports' grid
to NULL: an update like any other). They run once per statement over its transition tables, so a
bulk load of a million ended cases is one grouped upsert, and a row is never updated once per case
within one transaction (each update would leave a dead version every later one walks).
The conditions are those of gis.indicators.FIGURES for a case that has ended; a closed case always
has closed_at (the new check), so it is due whatever its deadline.

Revision ID: c6d7e8f9a0b1
Revises: b5c6d7e8f9a0
Create Date: 2026-11-24 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c6d7e8f9a0b1"
down_revision = "b5c6d7e8f9a0"
branch_labels = None
depends_on = None

CHANNELS = ("app", "hotline", "patrol", "volunteer", "video", "public")
GROUPS = (
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "21",
    "22",
    "23",
    "24",
    "25",
)
# (column, what one ended case r adds to it)
COUNTS = (
    ("reports", "true"),
    ("voided", "r.status = 'voided'"),
    ("opened", "r.opened_at IS NOT NULL"),
    ("due", "r.status = 'closed'"),
    ("closed", "r.status = 'closed'"),
    ("on_time", "r.status = 'closed' AND (r.deadline_at IS NULL OR r.closed_at <= r.deadline_at)"),
    (
        "handled",
        "r.rework_count > 0 OR (r.dispatched_at IS NOT NULL AND r.status IN ('handled', 'verified', 'closed'))",
    ),
    ("reworked", "r.rework_count > 0"),
    ("solved_locally", "r.status = 'closed' AND r.resolved_locally"),
    *((f"ch:{c}", f"r.channel = '{c}'") for c in CHANNELS),
    *((f"cat:{g}", f"r.category_code LIKE '{g}%'") for g in GROUPS),
)
NAMES = ", ".join(f'"{name}"' for name, _ in COUNTS)


def add(source: str, delta: int) -> str:
    """The statement adding (delta 1) or taking back (-1) the ended cases among ``source``'s rows,
    summed per key and local month; rows locked in one order, so two transactions closing cases
    of the same grid and department never each hold the row the other waits for."""
    return f"""
    INSERT INTO final_case_counts AS t (keyed_by, key, month, {NAMES})
    SELECT k.keyed_by, k.key, date_trunc('month', r.created_at, 'Asia/Shanghai'),
           {", ".join(f"{delta} * count(*) FILTER (WHERE {cond})" for _, cond in COUNTS)}
    FROM {source} r, LATERAL (VALUES ('grid_id', r.grid_id), ('department_id', r.department_id)) k (keyed_by, key)
    WHERE r.status IN ('closed', 'voided')
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (keyed_by, key, month) DO UPDATE SET
        {", ".join(f'"{name}" = t."{name}" + excluded."{name}"' for name, _ in COUNTS)}"""


FUNCTIONS = f"""
CREATE FUNCTION final_case_counts_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN {add("old_cases", -1)};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN {add("new_cases", 1)};
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION final_case_counts_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE final_case_counts;
    RETURN NULL;
END $$;
"""

TRIGGERS = """
CREATE TRIGGER final_case_counts_insert AFTER INSERT ON reports REFERENCING NEW TABLE AS new_cases
    FOR EACH STATEMENT EXECUTE FUNCTION final_case_counts_follow();
CREATE TRIGGER final_case_counts_update AFTER UPDATE ON reports
    REFERENCING OLD TABLE AS old_cases NEW TABLE AS new_cases
    FOR EACH STATEMENT EXECUTE FUNCTION final_case_counts_follow();
CREATE TRIGGER final_case_counts_delete AFTER DELETE ON reports REFERENCING OLD TABLE AS old_cases
    FOR EACH STATEMENT EXECUTE FUNCTION final_case_counts_follow();
CREATE TRIGGER final_case_counts_truncate AFTER TRUNCATE ON reports FOR EACH STATEMENT
    EXECUTE FUNCTION final_case_counts_clear();
"""


def upgrade() -> None:
    op.execute("UPDATE reports SET closed_at = updated_at WHERE status = 'closed' AND closed_at IS NULL")
    op.create_check_constraint(
        op.f("ck_reports_closed_at"), "reports", "status <> 'closed' OR closed_at IS NOT NULL"
    )
    op.create_table(
        "final_case_counts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("keyed_by", sa.String(length=16), nullable=False),
        sa.Column("key", sa.Integer(), nullable=True),
        sa.Column("month", sa.DateTime(timezone=True), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name, _ in COUNTS],
        sa.CheckConstraint(
            "keyed_by IN ('grid_id', 'department_id')", name=op.f("ck_final_case_counts_keyed_by")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_final_case_counts")),
        sa.UniqueConstraint(
            "keyed_by",
            "key",
            "month",
            name="uq_final_case_counts_key_month",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.execute(FUNCTIONS)
    op.execute(add("reports", 1))  # the cases that have already ended
    op.execute(TRIGGERS)


def downgrade() -> None:
    for trigger in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER final_case_counts_{trigger} ON reports")
    op.execute("DROP FUNCTION final_case_counts_clear(), final_case_counts_follow()")
    op.drop_table("final_case_counts")
    op.drop_constraint(op.f("ck_reports_closed_at"), "reports", type_="check")
