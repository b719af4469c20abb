"""Reply templates (常用语): a department's ready-made notes, and everyone's (no department), so a
step's note is one tap on a phone. A department's lead keeps its own; an admin keeps them all."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gis.accounts import Viewer, viewer_of
from gis.errors import Forbidden, Invalid, NotFound
from gis.i18n import _
from gis.limits import clean_text
from gis.models import ReplyTemplate, User

MAX_TEMPLATES = 50  # per department: a list to pick from, not an archive


def templates_for(session: Session, viewer: Viewer | User) -> list[ReplyTemplate]:
    """The templates ``viewer`` may use: their department's, then everyone's."""
    viewer = viewer_of(viewer)
    everyone = ReplyTemplate.department_id.is_(None)
    shown = (
        or_(everyone, ReplyTemplate.department_id == viewer.department_id)
        if viewer.department_id
        else everyone
    )
    query = select(ReplyTemplate).where(shown)
    return list(
        session.scalars(query.order_by(ReplyTemplate.department_id.is_(None), ReplyTemplate.id)).all()
    )


def _keeps(viewer: Viewer, department_id: int | None) -> bool:
    if viewer.role == "admin":
        return True
    return viewer.department_lead and department_id is not None and department_id == viewer.department_id


def add_template(session: Session, viewer: Viewer | User, text: str | None) -> ReplyTemplate:
    """A new template for the viewer's department (an admin's: for everyone)."""
    viewer = viewer_of(viewer)
    department_id = viewer.department_id if viewer.role != "admin" else None
    if not _keeps(viewer, department_id):
        raise Forbidden(_("reply templates are kept by a department's lead or an admin"))
    text = clean_text(text, "note", required=True)
    count = len([t for t in templates_for(session, viewer) if t.department_id == department_id])
    if count >= MAX_TEMPLATES:
        raise Invalid(_("at most %(count)s templates: remove one first", count=MAX_TEMPLATES))
    template = ReplyTemplate(department_id=department_id, text=str(text))
    session.add(template)
    session.flush()
    return template


def remove_template(session: Session, viewer: Viewer | User, template_id: int) -> None:
    viewer = viewer_of(viewer)
    template = session.get(ReplyTemplate, template_id)
    if template is None or template not in templates_for(session, viewer):
        raise NotFound(_("no template %(id)s", id=template_id))
    if not _keeps(viewer, template.department_id):
        raise Forbidden(_("reply templates are kept by a department's lead or an admin"))
    session.delete(template)
    session.flush()
