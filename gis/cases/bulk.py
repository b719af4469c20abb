"""One step for many cases at once (accept, dispatch, assign, void from the list): each case with
the version its person saw, each in its own savepoint, so one case changed meanwhile or not
allowed leaves the others done; the result says which."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gis.accounts import Viewer
from gis.cases.lifecycle import act
from gis.cases.policy import load_visible
from gis.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from gis.i18n import _
from gis.models import User

BULK_ACTIONS = ("accept", "open", "dispatch", "assign", "void", "close")
MAX_BULK = 200  # cases in one go: a page of the list and then some

# what became of each case
DONE, CHANGED, NOT_ALLOWED, NOT_FOUND, REFUSED = "done", "changed", "not_allowed", "not_found", "refused"
OUTCOME_NAMES = {
    DONE: _("done"),
    CHANGED: _("changed meanwhile: reload it"),
    NOT_ALLOWED: _("not allowed"),
    NOT_FOUND: _("no such case"),
    REFUSED: _("refused"),
}


@dataclass
class Outcome:
    report_id: int
    outcome: str  # DONE, CHANGED, NOT_ALLOWED, NOT_FOUND or REFUSED
    message: Any = None  # why not (a Message), None when done
    version: int | None = None  # the case's version now


def act_on_many(
    session: Session,
    viewer: Viewer | User,
    action: str,
    items: Sequence[tuple[int, int]],
    *,
    note: str | None = None,
    department_id: int | None = None,
    assignee_id: int | None = None,
) -> list[Outcome]:
    """``action`` on each (report id, version seen) in ``items``; flushes, never commits."""
    if action not in BULK_ACTIONS:
        raise Invalid(
            _("a list acts with one of %(items)s", items=", ".join(BULK_ACTIONS)),
            fields={"action": _("unknown")},
        )
    if not items:
        raise Invalid(_("choose at least one case"), fields={"items": _("empty")})
    if len(items) > MAX_BULK:
        raise Invalid(_("at most %(count)s cases at once", count=MAX_BULK), fields={"items": _("too many")})
    outcomes = []
    for report_id, version in dict(items).items():  # a case picked twice is acted on once
        try:
            with session.begin_nested():
                report = load_visible(session, viewer, report_id, via="bulk")
                act(
                    session,
                    report,
                    viewer,
                    action,
                    version=version,
                    note=note,
                    department_id=department_id,
                    assignee_id=assignee_id,
                )
            outcomes.append(Outcome(report_id, DONE, version=report.version))
        except NotFound as exc:
            outcomes.append(Outcome(report_id, NOT_FOUND, exc.text))
        except Conflict as exc:
            current = exc.details.get("current_version")
            kind = CHANGED if current is not None else NOT_ALLOWED  # a changed version, or a wrong state
            outcomes.append(Outcome(report_id, kind, exc.text, current))
        except Forbidden as exc:
            outcomes.append(Outcome(report_id, NOT_ALLOWED, exc.text))
        except DomainError as exc:
            outcomes.append(Outcome(report_id, REFUSED, exc.text))
    return outcomes
