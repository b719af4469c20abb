"""How much text each field holds, and what text is: one place for every way in (API, pages,
Open311, the CLI). PostgreSQL cannot store NUL, and a lone surrogate is not text at all."""

from __future__ import annotations

import re

from gis.errors import Invalid
from gis.i18n import _

TEXT_LIMITS = {
    "description": 4000,
    "address": 500,
    "note": 2000,
    "contact": 200,
    "phone": 40,
    "room": 50,  # a household's room, a building's unit
    "met": 200,  # whom a visit met
    "discussed": 4000,
    "needs": 2000,
    "name": 200,  # a patrol's, an import's field names
    "category": 8,
}
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def clean_text(value, field: str, required: bool = False) -> str | None:
    """``value`` as stored text: stripped, None when empty (unless ``required``); refused when
    it is not text, holds NUL or a lone surrogate, or is longer than the field's limit."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(_("%(field)s must be text", field=field), fields={field: _("must be text")})
    if NOT_TEXT.search(value):
        raise Invalid(
            _("%(field)s holds characters that are not text (NUL or a broken character)", field=field),
            fields={field: _("holds characters that are not text")},
        )
    value = value.strip()
    limit = TEXT_LIMITS[field]
    if len(value) > limit:
        raise Invalid(
            _(
                "%(field)s is %(count)s characters; at most %(limit)s",
                field=field,
                count=len(value),
                limit=limit,
            ),
            fields={field: _("is too long: at most %(limit)s characters", limit=limit)},
        )
    if not value and required:
        raise Invalid(_("%(field)s is required", field=field), fields={field: _("is required")})
    return value or None
