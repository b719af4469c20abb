""" "Open" has one home, gis.models.STATUS_KINDS; the migrated database must say the same in its
partial indexes on open cases and in the bodies of the triggers keeping the figures. A status
added to the table without a migration updating them fails here."""

from __future__ import annotations

import re

from sqlalchemy import text

from gis.models import ENDED_STATUSES, OPEN_CASE_SQL, OPEN_STATUSES, REPORT_STATUSES, STATUS_KINDS

LIST = re.compile(r"status(?:\)::text)?\s+(NOT IN|IN|<> ALL|= ANY)\s*\(+(?:ARRAY\[)?([^\])]*)", re.I)
LITERAL = re.compile(r"'([a-z_]+)'")


def _status_lists(sql: str) -> list[tuple[str, set[str]]]:
    """Each ``status [NOT] IN (...)`` / ``<> ALL (ARRAY[...])`` in ``sql``: (operator, statuses)."""
    return [(op.upper(), set(LITERAL.findall(items))) for op, items in LIST.findall(sql)]


def test_the_python_rules_come_from_the_table():
    assert set(REPORT_STATUSES) == set(STATUS_KINDS) == OPEN_STATUSES | set(ENDED_STATUSES)
    assert not OPEN_STATUSES & set(ENDED_STATUSES)
    assert {s for op, items in _status_lists(OPEN_CASE_SQL) for s in items} == set(ENDED_STATUSES)


def test_partial_indexes_and_triggers_say_what_the_table_says(session):
    predicates = session.scalars(
        text("""SELECT pg_get_expr(indpred, indrelid) FROM pg_index
                WHERE indrelid = 'reports'::regclass AND indpred IS NOT NULL""")
    ).all()
    bodies = session.scalars(
        text("""SELECT prosrc FROM pg_proc
                WHERE pronamespace = 'public'::regnamespace AND prosrc ILIKE '%status%'""")
    ).all()
    assert len(bodies) >= 2, "the triggers keeping final_case_counts and area_figures"
    open_tests = [
        items
        for sql in (*predicates, *bodies)
        for op, items in _status_lists(sql)
        if op in ("NOT IN", "<> ALL")
    ]
    assert len(open_tests) >= 5
    assert all(items == set(ENDED_STATUSES) for items in open_tests), open_tests
    ended_tests = [
        items
        for sql in bodies
        for op, items in _status_lists(sql)
        if op in ("IN", "= ANY") and items & set(ENDED_STATUSES) == items and len(items) > 1
    ]
    assert all(items == set(ENDED_STATUSES) for items in ended_tests), ended_tests
    every_literal = {s for sql in (*predicates, *bodies) for s in re.findall(r"status\W+'([a-z_]+)'", sql)}
    assert every_literal <= set(REPORT_STATUSES)
