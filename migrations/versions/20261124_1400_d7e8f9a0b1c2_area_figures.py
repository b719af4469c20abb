"""area_figures: each grid's and community's buildings, households and open cases (with their
deadlines), kept by triggers on buildings, reports and areas

The map shows these for every grid or community in view on every pan. Summed from buildings and
reports they cost ~40 µs a grid, and a zoom-13 view's forty communities hold 4,000 grids: a view's
time grew with the city. Read from one row an area they cost ~1 µs. "Overdue now" changes with the
clock, not with a write, so the row keeps its open cases' deadlines, sorted: the number before
now() is a binary search (width_bucket).

The triggers on buildings and reports run once per statement and add what the statement changed
to the row of each grid touched and of its community (its parent): deltas, never a recount, in
one upsert that locks the rows in id order, so concurrent writers add up instead of overwriting
each other and never deadlock on these rows. When grids change community or are deleted (an
import re-linking or replacing them), the communities involved are recounted from their grids'
rows. A deleted area's row cascades.

Revision ID: d7e8f9a0b1c2
Revises: c6d7e8f9a0b1
Create Date: 2026-11-24 14:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "d7e8f9a0b1c2"
down_revision = "c6d7e8f9a0b1"
branch_labels = None
depends_on = None

OPEN = "status NOT IN ('closed', 'voided')"
# each changed row's grid and the grid's community: (area_id, the change c's columns)
BOTH_AREAS = """
    FROM change c JOIN areas g ON g.id = c.grid_id   -- a grid being deleted has gone already
    CROSS JOIN LATERAL (VALUES (g.id), (g.parent_id)) k (area_id)
    WHERE k.area_id IS NOT NULL"""


def open_cases_changed(*sources: tuple[str, int]) -> str:
    """The statement adding (sign 1) or taking back (-1) the open cases among each source's rows,
    per area: their number, and their deadlines as a multiset (one taken back per one removed)."""
    if sources == (("new_rows", 1),):
        return OPEN_CASES_INSERTED
    changes = " UNION ALL ".join(
        f"SELECT grid_id, {sign} AS sign, deadline_at FROM {source} WHERE {OPEN} AND grid_id IS NOT NULL"
        for source, sign in sources
    )
    return f"""
    WITH change AS ({changes}),
    per_area AS (
        SELECT k.area_id, sum(c.sign)::int AS open,
               coalesce(array_agg(c.deadline_at ORDER BY c.deadline_at)
                        FILTER (WHERE c.sign > 0 AND c.deadline_at IS NOT NULL), '{{}}') AS added,
               coalesce(array_agg(c.deadline_at ORDER BY c.deadline_at)
                        FILTER (WHERE c.sign < 0 AND c.deadline_at IS NOT NULL), '{{}}') AS removed
        {BOTH_AREAS}
        GROUP BY k.area_id)
    INSERT INTO area_figures AS t (area_id, open, deadlines)
    SELECT area_id, open, added FROM per_area
    WHERE open <> 0 OR added <> removed   -- not an open case edited without a new deadline
    ORDER BY area_id
    ON CONFLICT (area_id) DO UPDATE SET
        open = t.open + excluded.open,
        -- the merge only when deadlines come or go (not for a phone's new pin, which has none)
        deadlines = coalesce((SELECT area_figures_deadlines(t.deadlines, p.added, p.removed) FROM per_area p
                              WHERE p.area_id = excluded.area_id
                                AND (cardinality(p.added) > 0 OR cardinality(p.removed) > 0)),
                             t.deadlines)"""


# The same for an insert, the phones' path (one new pin a statement): nothing taken back, so no
# CTE read twice, and no merge unless the cases come with deadlines.
OPEN_CASES_INSERTED = f"""
    INSERT INTO area_figures AS t (area_id, open, deadlines)
    SELECT k.area_id, count(*)::int,
           coalesce(array_agg(c.deadline_at ORDER BY c.deadline_at) FILTER (WHERE c.deadline_at IS NOT NULL), '{{}}')
    FROM new_rows c JOIN areas g ON g.id = c.grid_id
    CROSS JOIN LATERAL (VALUES (g.id), (g.parent_id)) k (area_id)
    WHERE c.{OPEN} AND k.area_id IS NOT NULL
    GROUP BY k.area_id
    ORDER BY k.area_id
    ON CONFLICT (area_id) DO UPDATE SET
        open = t.open + excluded.open,
        deadlines = CASE WHEN cardinality(excluded.deadlines) = 0 THEN t.deadlines
                         ELSE area_figures_deadlines(t.deadlines, excluded.deadlines, '{{}}') END"""


def buildings_changed(*sources: tuple[str, int]) -> str:
    """The statement adding or taking back each source's buildings and households, per area."""
    changes = " UNION ALL ".join(
        f"SELECT grid_id, {sign} AS sign, coalesce(households, 0) AS households FROM {source} "
        f"WHERE grid_id IS NOT NULL"
        for source, sign in sources
    )
    return f"""
    WITH change AS ({changes})
    INSERT INTO area_figures AS t (area_id, buildings, households)
    SELECT k.area_id, sum(c.sign)::int, sum(c.sign * c.households)::int
    {BOTH_AREAS}
    GROUP BY k.area_id
    HAVING sum(c.sign) <> 0 OR sum(c.sign * c.households) <> 0
    ORDER BY k.area_id
    ON CONFLICT (area_id) DO UPDATE SET
        buildings = t.buildings + excluded.buildings,
        households = t.households + excluded.households"""


def follow(table: str, changed) -> str:
    return f"""
CREATE FUNCTION area_figures_follow_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {changed(("new_rows", 1))};
    ELSIF TG_OP = 'DELETE' THEN {changed(("old_rows", -1))};
    ELSE {changed(("old_rows", -1), ("new_rows", 1))};
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER area_figures_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION area_figures_follow_{table}();
CREATE TRIGGER area_figures_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION area_figures_follow_{table}();
CREATE TRIGGER area_figures_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION area_figures_follow_{table}();
"""


FUNCTIONS = f"""
-- ``kept`` and ``added`` together, less one occurrence per element of ``removed``; sorted.
CREATE FUNCTION area_figures_deadlines(kept timestamptz[], added timestamptz[], removed timestamptz[])
RETURNS timestamptz[] LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN cardinality(added) = 0 AND cardinality(removed) = 0 THEN kept ELSE (
        SELECT coalesce(array_agg(d ORDER BY d), '{{}}') FROM (
            SELECT d, row_number() OVER (PARTITION BY d) AS nth FROM unnest(kept || added) d) x
        WHERE nth > (SELECT count(*) FROM unnest(removed) r WHERE r = x.d)) END
$$;

-- These communities' rows made again from their grids' rows.
CREATE FUNCTION area_figures_recount(communities int[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO area_figures AS t (area_id, buildings, households, open, deadlines)
    SELECT p.id, coalesce(sum(f.buildings), 0), coalesce(sum(f.households), 0), coalesce(sum(f.open), 0),
           coalesce((SELECT array_agg(d ORDER BY d) FROM areas g2 JOIN area_figures f2 ON f2.area_id = g2.id,
                            unnest(f2.deadlines) d
                     WHERE g2.parent_id = p.id AND g2.level = 'grid'), '{{}}')
    FROM areas p
    LEFT JOIN areas g ON g.parent_id = p.id AND g.level = 'grid'
    LEFT JOIN area_figures f ON f.area_id = g.id
    WHERE p.id = ANY(communities)
    GROUP BY p.id
    ORDER BY p.id
    ON CONFLICT (area_id) DO UPDATE SET buildings = excluded.buildings, households = excluded.households,
        open = excluded.open, deadlines = excluded.deadlines
$$;

{follow("reports", open_cases_changed)}
{follow("buildings", buildings_changed)}

CREATE FUNCTION area_figures_follow_areas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM area_figures_recount(ARRAY(
            SELECT DISTINCT parent_id FROM old_rows WHERE level = 'grid' AND parent_id IS NOT NULL));
    ELSE
        PERFORM area_figures_recount(ARRAY(
            SELECT DISTINCT p FROM old_rows o JOIN new_rows n USING (id),
                   LATERAL (VALUES (o.parent_id), (n.parent_id)) v (p)
            WHERE n.level = 'grid' AND o.parent_id IS DISTINCT FROM n.parent_id AND p IS NOT NULL));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER area_figures_update AFTER UPDATE ON areas
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION area_figures_follow_areas();
CREATE TRIGGER area_figures_delete AFTER DELETE ON areas REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION area_figures_follow_areas();

CREATE FUNCTION area_figures_clear_reports() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE area_figures SET open = 0, deadlines = '{{}}' WHERE open <> 0 OR cardinality(deadlines) > 0;
    RETURN NULL;
END $$;
CREATE TRIGGER area_figures_truncate AFTER TRUNCATE ON reports
    FOR EACH STATEMENT EXECUTE FUNCTION area_figures_clear_reports();

CREATE FUNCTION area_figures_clear_buildings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE area_figures SET buildings = 0, households = 0 WHERE buildings <> 0 OR households <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER area_figures_truncate AFTER TRUNCATE ON buildings
    FOR EACH STATEMENT EXECUTE FUNCTION area_figures_clear_buildings();
"""

GRIDS_BACKFILL = f"""
INSERT INTO area_figures (area_id, buildings, households, open, deadlines)
SELECT g.id, b.buildings, b.households, r.open, r.deadlines
FROM areas g
CROSS JOIN LATERAL (SELECT count(*)::int AS buildings, coalesce(sum(households), 0)::int AS households
                    FROM buildings WHERE grid_id = g.id) b
CROSS JOIN LATERAL (SELECT count(*)::int AS open,
                           coalesce(array_agg(deadline_at ORDER BY deadline_at)
                                    FILTER (WHERE deadline_at IS NOT NULL), '{{}}') AS deadlines
                    FROM reports WHERE grid_id = g.id AND {OPEN}) r
WHERE g.level = 'grid' AND (b.buildings > 0 OR r.open > 0)
"""


def upgrade() -> None:
    op.create_table(
        "area_figures",
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("buildings", sa.Integer(), server_default="0", nullable=False),
        sa.Column("households", sa.Integer(), server_default="0", nullable=False),
        sa.Column("open", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "deadlines", postgresql.ARRAY(sa.DateTime(timezone=True)), server_default="{}", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_area_figures_area_id_areas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("area_id", name=op.f("pk_area_figures")),
    )
    op.execute(GRIDS_BACKFILL)
    op.execute(FUNCTIONS)
    op.execute("SELECT area_figures_recount(ARRAY(SELECT id FROM areas WHERE level = 'community'))")
    # the open cases outside every grid, for the map's bubbles (all others are counted per area)
    op.create_index(
        "ix_reports_open_unassigned_geom",
        "reports",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_where=sa.text(f"{OPEN} AND grid_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_reports_open_unassigned_geom",
        table_name="reports",
        postgresql_using="gist",
        postgresql_where=sa.text(f"{OPEN} AND grid_id IS NULL"),
    )
    for table, triggers in (
        ("reports", ("insert", "update", "delete", "truncate")),
        ("buildings", ("insert", "update", "delete", "truncate")),
        ("areas", ("update", "delete")),
    ):
        for trigger in triggers:
            op.execute(f"DROP TRIGGER area_figures_{trigger} ON {table}")
    op.execute(
        "DROP FUNCTION area_figures_follow_reports(), area_figures_follow_buildings(), "
        "area_figures_follow_areas(), area_figures_clear_reports(), area_figures_clear_buildings(), "
        "area_figures_recount(int[]), "
        "area_figures_deadlines(timestamptz[], timestamptz[], timestamptz[])"
    )
    op.drop_table("area_figures")
