"""Searching cases by words, Chinese substrings too

``gridwatch_grams(text)``: the characters and character pairs of a text, lower-cased, none with a
space. A case is found by a word when the word's grams are all among the case's (the GIN index
``ix_reports_search`` over its description and address finds those, ``@>``) and the word is in its
text (checked on what the reader may see). pg_trgm would do the first part for Latin text, but in
a cluster without a locale it sees no Chinese character at all (``show_trgm('路灯')`` is empty).

Revision ID: f5a6b7c8d9e0
Revises: e4f5a6b7c8d9
Create Date: 2026-12-03 10:00:00
"""

from alembic import op

revision = "f5a6b7c8d9e0"
down_revision = "e4f5a6b7c8d9"
branch_labels = None
depends_on = None

GRAMS = r"""
CREATE FUNCTION gridwatch_grams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT v.gram), '{}')
    FROM (SELECT lower(value) AS t) s,
         LATERAL generate_series(1, length(s.t)) i,
         LATERAL (VALUES (substr(s.t, i, 1)), (substr(s.t, i, 2))) v (gram)
    WHERE v.gram !~ '\s'
$$;
"""
SEARCHED = "gridwatch_grams(coalesce(description, '') || ' ' || coalesce(address, ''))"


def upgrade() -> None:
    op.execute(GRAMS)
    op.execute(f"CREATE INDEX ix_reports_search ON reports USING gin ({SEARCHED})")


def downgrade() -> None:
    op.execute("DROP INDEX ix_reports_search")
    op.execute("DROP FUNCTION gridwatch_grams(text)")
