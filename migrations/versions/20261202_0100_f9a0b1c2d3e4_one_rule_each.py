"""Each rule once, in the database: a point's grid, a point's building, a grid's parents

- ``gridwatch_grid_for(point, nearest_m)``: the grid that covers the point (the lowest code on a
  shared border), else the nearest within ``nearest_m`` metres (geodesic; ties by code), else none
  — as (grid_id, kind, distance_m). Intake, ``/api/v1/grids/locate`` and the re-grid after an
  import all call it; written as one SELECT so PostgreSQL inlines it and each lookup keeps its
  GiST index.
- ``gridwatch_building_for(point, nearest_m)``: the building under the point, else the nearest
  within ``nearest_m`` metres (geodesic; ties by id). Intake and the re-link after buildings are
  replaced call it.
- ``grid_chain``: each grid with its community, street and district (ids, codes, names), by the
  parent links: the one way from a grid up.
- ``areas_code_under_parent``: an area's code starts with its parent's (CJ/T 213), so filtering by
  a code prefix and walking the parent links find the same grids.

Revision ID: f9a0b1c2d3e4
Revises: e8f9a0b1c2d3
Create Date: 2026-12-02 01:00:00
"""

from alembic import op

revision = "f9a0b1c2d3e4"
down_revision = "e8f9a0b1c2d3"
branch_labels = None
depends_on = None

# "within m metres": first a box in degrees through the index (a metre is at most 1/110,000 of a
# degree of latitude, 1/(110,000 · cos φ) of longitude), then the geodesic distance decides.
WITHIN = """ST_DWithin({geom}, p, nearest_m / (110000 * greatest(cos(radians(ST_Y(p))), 1e-6)))
      AND ST_DWithin({geom}::geography, p::geography, nearest_m)"""

FUNCTIONS = f"""
CREATE FUNCTION gridwatch_grid_for(p geometry, nearest_m float8)
RETURNS TABLE (grid_id int, kind text, distance_m float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH inside AS (
    SELECT a.id FROM areas a
    WHERE a.level = 'grid' AND ST_Covers(a.geom, p) ORDER BY a.code LIMIT 1),
  near AS (
    SELECT a.id, ST_Distance(a.geom::geography, p::geography) AS distance FROM areas a
    WHERE a.level = 'grid' AND NOT EXISTS (SELECT 1 FROM inside) AND {WITHIN.format(geom="a.geom")}
    ORDER BY distance, a.code LIMIT 1)
  SELECT coalesce((SELECT id FROM inside), (SELECT id FROM near)),
         CASE WHEN EXISTS (SELECT 1 FROM inside) THEN 'inside'
              WHEN EXISTS (SELECT 1 FROM near) THEN 'nearest' ELSE 'unassigned' END,
         round((SELECT distance FROM near)::numeric, 1)::float8
$$;

CREATE FUNCTION gridwatch_building_for(p geometry, nearest_m float8)
RETURNS TABLE (building_id int)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(
    (SELECT b.id FROM buildings b WHERE ST_Covers(b.geom, p) ORDER BY b.id LIMIT 1),
    (SELECT b.id FROM buildings b WHERE {WITHIN.format(geom="b.geom")}
     ORDER BY ST_Distance(b.geom::geography, p::geography), b.id LIMIT 1))
$$;

CREATE VIEW grid_chain AS
  SELECT g.id AS grid_id, g.code AS grid_code, g.name AS grid_name,
         cm.id AS community_id, cm.code AS community_code, cm.name AS community_name,
         st.id AS street_id, st.code AS street_code, st.name AS street_name,
         d.id AS district_id, d.code AS district_code, d.name AS district_name
  FROM areas g
  LEFT JOIN areas cm ON cm.id = g.parent_id
  LEFT JOIN areas st ON st.id = cm.parent_id
  LEFT JOIN areas d ON d.id = st.parent_id
  WHERE g.level = 'grid';

CREATE FUNCTION gridwatch_code_under_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.parent_id IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM areas p WHERE p.id = NEW.parent_id AND left(NEW.code, length(p.code)) = p.code) THEN
    RAISE EXCEPTION 'area %% does not start with the code of its parent', NEW.code
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER areas_code_under_parent BEFORE INSERT OR UPDATE OF code, parent_id ON areas
FOR EACH ROW EXECUTE FUNCTION gridwatch_code_under_parent();
"""


def upgrade() -> None:
    op.get_bind().exec_driver_sql(FUNCTIONS)  # as written ("%%" is how psycopg passes one "%")


def downgrade() -> None:
    op.execute("DROP TRIGGER areas_code_under_parent ON areas")
    op.execute("DROP FUNCTION gridwatch_code_under_parent()")
    op.execute("DROP VIEW grid_chain")
    op.execute("DROP FUNCTION gridwatch_building_for(geometry, float8)")
    op.execute("DROP FUNCTION gridwatch_grid_for(geometry, float8)")
