"""Admins' pages: who may read each category's cases, and the record of reads of personal data."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.auth import roles_required
from app.database import db
from app.i18n import request_locale
from gis.cases.categories import category_name, set_privacy
from gis.cases.policy import personal_reads
from gis.errors import DomainError
from gis.i18n import _
from gis.models import PRIVACY_CLASSES, PRIVACY_NAMES, Category

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50


@bp.get("/categories")
@roles_required("admin")
def categories():
    rows = db().scalars(select(Category).order_by(Category.sort)).all()
    return render_template("admin_categories.html", categories=rows, classes=PRIVACY_CLASSES)


@bp.post("/categories/<code>")
@roles_required("admin")
def category_privacy(code: str):
    try:
        with db().begin_nested():
            category = set_privacy(db(), code, request.form.get("privacy", ""))
        flash(
            _(
                "%(code)s %(name)s: %(privacy)s",
                code=category.code,
                name=category_name(category, request_locale()),
                privacy=PRIVACY_NAMES[category.privacy],
            ),
            "success",
        )
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("admin.categories"))


@bp.get("/audit")
@roles_required("admin")
def audit():
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = personal_reads(db(), page, PAGE_SIZE)
    return render_template(
        "admin_audit.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE))
    )
