"""A buildings import adds its area figures once, at its end

``area_figures_follow_buildings`` (migration d7e8f9a0b1c2) adds each statement's buildings to
their grids' and communities' rows, and the rows stay locked until the transaction ends. An import
that copies its buildings chunk by chunk (gis.areas.importer.import_buildings) would so lock the
rows every new report's pin adds to from its first chunk on: intake waited for the whole import
(bench/import_buildings.py: p95 166 ms while importing). With ``gridwatch.area_figures_later`` set
for the transaction the trigger leaves the rows alone, and ``area_figures_add_batch`` adds the
batch's buildings in one statement just before the import commits.

Revision ID: a6b7c8d9e0f1
Revises: f5a6b7c8d9e0
Create Date: 2026-12-03 10:30:00
"""

from alembic import op

revision = "a6b7c8d9e0f1"
down_revision = "f5a6b7c8d9e0"
branch_labels = None
depends_on = None


def added(*sources: tuple[str, int]) -> str:
    """The upsert adding (sign 1) or taking back (-1) each source's buildings, per grid and its
    community (d7e8f9a0b1c2's buildings_changed)."""
    changes = " UNION ALL ".join(
        f"SELECT grid_id, {sign} AS sign, coalesce(households, 0) AS households FROM {source} "
        f"WHERE grid_id IS NOT NULL"
        for source, sign in sources
    )
    return f"""
    WITH change AS ({changes})
    INSERT INTO area_figures AS t (area_id, buildings, households)
    SELECT k.area_id, sum(c.sign)::int, sum(c.sign * c.households)::int
    FROM change c JOIN areas g ON g.id = c.grid_id
    CROSS JOIN LATERAL (VALUES (g.id), (g.parent_id)) k (area_id)
    WHERE k.area_id IS NOT NULL
    GROUP BY k.area_id
    HAVING sum(c.sign) <> 0 OR sum(c.sign * c.households) <> 0
    ORDER BY k.area_id
    ON CONFLICT (area_id) DO UPDATE SET
        buildings = t.buildings + excluded.buildings,
        households = t.households + excluded.households"""


def follow(later: bool) -> str:
    skip = (
        "IF current_setting('gridwatch.area_figures_later', true) = 'on' THEN RETURN NULL; END IF;"
        if later
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION area_figures_follow_buildings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    {skip}
    IF TG_OP = 'INSERT' THEN {added(("new_rows", 1))};
    ELSIF TG_OP = 'DELETE' THEN {added(("old_rows", -1))};
    ELSE {added(("old_rows", -1), ("new_rows", 1))};
    END IF;
    RETURN NULL;
END $$;"""


def upgrade() -> None:
    op.execute(follow(later=True))
    op.execute(f"""
CREATE FUNCTION area_figures_add_batch(batch int) RETURNS void LANGUAGE sql AS $$
    {added(("(SELECT grid_id, households FROM buildings WHERE import_batch_id = batch) b", 1))}
$$;""")


def downgrade() -> None:
    op.execute("DROP FUNCTION area_figures_add_batch(int)")
    op.execute(follow(later=False))
