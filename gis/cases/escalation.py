"""Automatic escalation (三级响应): a dispatched case past its deadline by a margin climbs one level,
community → street, and past it by twice the margin street → district; its new owners find it
in their inbox ("escalated to my level") and in their digest.

Exactly once per case and level, however many server processes run it at once: the candidates
are locked with ``SKIP LOCKED`` (another process takes the others) and re-checked when locked,
and a unique index on the events (a case's escalate event to a level) refuses a second one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.cases.lifecycle import announce
from gis.models import RESPONSE_LEVELS, utcnow

ESCALATE_AFTER = dt.timedelta(hours=24)
BATCH = 500  # cases per statement: a backlog is worked off in short transactions

# the level a case reaches after n margins past its deadline: community (0), street (1), district (2)
ESCALATE_SQL = text("""
    WITH due AS (
        SELECT id, response_level AS from_level FROM reports
        WHERE status IN ('dispatched', 'handled') AND response_level <> 'district'
          AND deadline_at < :now - :margin * array_position(CAST(:levels AS text[]), response_level)
        ORDER BY deadline_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED),
    moved AS (
        UPDATE reports r
        SET response_level = CASE r.response_level WHEN 'community' THEN 'street' ELSE 'district' END,
            updated_at = :now, version = r.version + 1
        FROM due WHERE r.id = due.id
        RETURNING r.id, r.status, due.from_level, r.response_level AS to_level, r.deadline_at),
    events AS (
        INSERT INTO report_events (report_id, action, from_status, to_status, data, at)
        SELECT id, 'escalate', status, status,
               jsonb_build_object('auto', true, 'from_level', from_level, 'to_level', to_level,
                                  'overdue_hours', round(extract(epoch FROM :now - deadline_at) / 3600)),
               :now
        FROM moved)
    SELECT id, from_level, to_level FROM moved ORDER BY id
""")


@dataclass(frozen=True)
class Escalated:
    report_id: int
    from_level: str
    to_level: str


def escalate_overdue(
    session: Session, margin: dt.timedelta = ESCALATE_AFTER, now: dt.datetime | None = None
) -> list[Escalated]:
    """Move every case due one level up (a batch at a time, until none is left); flushes, never
    commits. What moved, announced to the connected maps at commit."""
    moved: list[Escalated] = []
    while True:
        rows = session.execute(
            ESCALATE_SQL,
            {"now": now or utcnow(), "margin": margin, "levels": list(RESPONSE_LEVELS), "batch": BATCH},
        ).all()
        moved += [Escalated(*row) for row in rows]
        announce(session, [row.id for row in rows])
        if len(rows) < BATCH:
            return moved
