"""The field kit: confirmations of a case ("I saw it too"), proof photos, the site check, my work

- ``reports.confirmations``: how many people confirmed the case from its place instead of
  reporting it again; ``final_case_counts.confirmed`` counts the ended cases someone confirmed
  (the trigger function is replaced to count it).
- ``reports.site_check_waived``: a dispatcher let this case be verified without being there.
- ``report_photos.kind``: the report's own photo, the department's after-photo, the verifier's
  photo, or a confirmer's.
- ``report_events.client_id``: a step the phone sent twice (a retry after a lost answer) is one.
- ``users.my_seen_at``: when the user last looked at /my (what changed since is marked).

Revision ID: b1c2d3e4f5a6
Revises: a0b1c2d3e4f5
Create Date: 2026-12-02 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b1c2d3e4f5a6"
down_revision = "a0b1c2d3e4f5"
branch_labels = None
depends_on = None

PHOTO_KINDS = ("report", "after", "verify", "confirm")
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
    ("confirmed", "r.confirmations > 0"),
    *((f"ch:{c}", f"r.channel = '{c}'") for c in CHANNELS),
    *((f"cat:{g}", f"r.category_code LIKE '{g}%'") for g in GROUPS),
)


def add(source: str, delta: int, counts) -> str:
    """The statement adding (delta 1) or taking back (-1) the ended cases among ``source``'s rows,
    summed per key and local month; rows locked in one order, so two transactions closing cases
    of the same grid and department never each hold the row the other waits for."""
    names = ", ".join(f'"{name}"' for name, _ in counts)
    return f"""
    INSERT INTO final_case_counts AS t (keyed_by, key, month, {names})
    SELECT k.keyed_by, k.key, date_trunc('month', r.created_at, 'Asia/Shanghai'),
           {", ".join(f"{delta} * count(*) FILTER (WHERE {cond})" for _, cond in counts)}
    FROM {source} r, LATERAL (VALUES ('grid_id', r.grid_id), ('department_id', r.department_id)) k (keyed_by, key)
    WHERE r.status IN ('closed', 'voided')
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (keyed_by, key, month) DO UPDATE SET
        {", ".join(f'"{name}" = t."{name}" + excluded."{name}"' for name, _ in counts)}"""


def follow_function(counts) -> str:
    return f"""
CREATE OR REPLACE FUNCTION final_case_counts_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN {add("old_cases", -1, counts)};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN {add("new_cases", 1, counts)};
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.add_column("reports", sa.Column("confirmations", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "reports", sa.Column("site_check_waived", sa.Boolean(), nullable=False, server_default="false")
    )
    op.add_column("report_photos", sa.Column("kind", sa.String(10), nullable=False, server_default="report"))
    op.create_check_constraint(
        op.f("ck_report_photos_kind"), "report_photos", f"kind IN ({', '.join(repr(k) for k in PHOTO_KINDS)})"
    )
    op.add_column("report_events", sa.Column("client_id", sa.Uuid(), nullable=True))
    op.create_index(
        "uq_report_events_client_id",
        "report_events",
        ["client_id"],
        unique=True,
        postgresql_where=sa.text("client_id IS NOT NULL"),
    )
    op.add_column("users", sa.Column("my_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "final_case_counts", sa.Column("confirmed", sa.Integer(), nullable=False, server_default="0")
    )
    op.alter_column("final_case_counts", "confirmed", server_default=None)
    op.execute(follow_function(COUNTS))


def downgrade() -> None:
    op.execute(follow_function(tuple(c for c in COUNTS if c[0] != "confirmed")))
    op.drop_column("final_case_counts", "confirmed")
    op.drop_column("users", "my_seen_at")
    op.drop_index("uq_report_events_client_id", table_name="report_events")
    op.drop_column("report_events", "client_id")
    op.drop_constraint(op.f("ck_report_photos_kind"), "report_photos", type_="check")
    op.drop_column("report_photos", "kind")
    op.drop_column("reports", "site_check_waived")
    op.drop_column("reports", "confirmations")
