"""Who is asking: Flask-Login sessions for pages, Bearer tokens for the JSON API, CSRF on forms.

Every route needs a login except those marked ``public``. Roles are checked by ``roles_required``;
what a user may read is the access policy's (gis/cases/policy.py), given ``current_viewer()``.
A session and a remember-cookie carry the user's session version: logging out or a new password
raises it and ends them all, on every device.
"""

from __future__ import annotations

import datetime as dt
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired

from app.database import db
from gis import accounts
from gis.accounts import Viewer
from gis.errors import DomainError, TooManyAttempts
from gis.i18n import _
from gis.models import EMAIL_DIGESTS, ROLE_NAMES, User

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
PUBLIC_ENDPOINTS = {"static"}
REMEMBER_FOR = dt.timedelta(days=14)  # the longest a remember-me cookie lasts (app/config.py)


class LoginUser:
    """Flask-Login's view of a user: the policy's ``Viewer`` (id, role, scope) at hand, the ORM row
    (``.row``) loaded when a view asks for it (report intake by token never does)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, viewer: Viewer, row: User | None = None):
        self.viewer = viewer
        self.id = viewer.id
        self.role = viewer.role
        self._row = row

    @classmethod
    def of(cls, row: User) -> LoginUser:
        return cls(accounts.viewer_of(row), row)

    @property
    def row(self) -> User:
        if self._row is None:
            self._row = db().get_one(User, self.id)
        return self._row

    def get_id(self) -> str:
        """The user and their session version: an older version's session is no longer valid."""
        return f"{self.id}.{self.viewer.session_version}"


def public(view):
    """Mark a view as reachable without logging in."""
    view.gridwatch_public = True
    return view


def checks_token_itself(view):
    """Mark an API view that checks a Bearer token in its own statement (report intake, the hot
    path: one round trip fewer). For a Bearer request the login gate only hands the token's
    digest to the view (``bearer_digest``); the view must write nothing unless the statement found
    the token's active user, and must not read ``current_user``. Sessions are checked as usual."""
    view.gridwatch_checks_token = True
    return view


def bearer_digest() -> str | None:
    """The digest of the Bearer token a ``checks_token_itself`` view is to check, if any."""
    return g.get("bearer_digest")


def roles_required(*roles):
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in roles and current_user.role != "admin":
                names = " / ".join(str(ROLE_NAMES[r]) for r in roles)
                abort(403, str(_("this needs the role %(roles)s", roles=names)))
            return view(*args, **kwargs)

        return wrapped

    return decorate


def current_row() -> User:
    return current_user.row


def current_viewer() -> Viewer:
    """Who is asking, for the access policy."""
    return current_user.viewer


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _("Please log in to see this page.")
    login_manager.localize_callback = str
    csrf.init_app(app)
    app.before_request(_require_login)


@login_manager.user_loader
def _load_user(user_id: str):
    user, _dot, version = user_id.partition(".")
    if not (user.isdigit() and version.isdigit()):
        return None
    viewer = accounts.viewer_by_id(db(), int(user))
    return LoginUser(viewer) if viewer and viewer.session_version == int(version) else None


@login_manager.request_loader
def _load_from_token(req):
    token = _bearer_token(req)
    if token:
        viewer = accounts.token_viewer(db(), token)
        if viewer:
            g.token_auth = True
            return LoginUser(viewer)
    return None


def _bearer_token(req) -> str | None:
    header = req.headers.get("Authorization", "")
    return (header[7:].strip() or None) if header.startswith("Bearer ") else None


def _require_login():
    view = current_app.view_functions.get(request.endpoint)
    if request.endpoint in PUBLIC_ENDPOINTS or getattr(view, "gridwatch_public", False):
        return None
    if getattr(view, "gridwatch_checks_token", False) and (token := _bearer_token(request)):
        g.bearer_digest = accounts.token_digest(token)
        return None
    if not current_user.is_authenticated:
        if request.path.startswith("/api/"):
            abort(401, accounts.UNAUTHORIZED_MESSAGE)
        return login_manager.unauthorized()
    if request.path.startswith("/api/") and not g.get("token_auth") and request.method != "GET":
        csrf.protect()  # the browser's own pages call the API with the session cookie
    return None


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the home page. Browsers drop tabs and
    newlines and read a backslash as a slash, so ``/\\t/evil.example`` would go off-site."""
    cleaned = "".join(ch for ch in (target or "") if ch >= " " and ch != "\x7f").replace("\\", "/")
    parts = urlsplit(cleaned)
    if not cleaned.startswith("/") or cleaned.startswith("//") or parts.scheme or parts.netloc:
        return url_for("pages.home")
    return cleaned


class LoginForm(FlaskForm):
    username = StringField(_("User name"), validators=[DataRequired()])
    password = PasswordField(_("Password"), validators=[DataRequired()])
    remember = BooleanField(_("Stay logged in on this device (14 days)"), default=False)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            row = accounts.authenticate(
                db(), form.username.data.strip(), form.password.data, address=request.remote_addr
            )
        except TooManyAttempts as exc:
            flash(exc.message, "danger")
            db().commit()
            return (
                render_template("login.html", form=form),
                429,
                {"Retry-After": str(exc.details["retry_after"])},
            )
        db().commit()  # the failure count stays even though this answer is not a success
        if row:
            login_user(LoginUser.of(row), remember=bool(form.remember.data), duration=REMEMBER_FOR)
            return redirect(safe_next(request.args.get("next")))
        flash(_("Wrong user name or password."), "danger")
        status = 401
    elif request.method == "POST":
        status = 401
    return render_template("login.html", form=form), status


@bp.post("/logout")
def logout():
    """Log out here and everywhere else: every session and remember-cookie of this user ends."""
    accounts.end_sessions(db(), current_user.id)
    logout_user()
    return redirect(url_for("auth.login"))


class PasswordForm(FlaskForm):
    current = PasswordField(_("Current password"), validators=[DataRequired()])
    new = PasswordField(_("New password (at least 10 characters)"), validators=[DataRequired()])
    again = PasswordField(_("New password again"), validators=[DataRequired()])


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Change one's password; every other session of the account ends with it."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            if form.new.data != form.again.data:
                raise DomainError(_("the two new passwords differ"))
            row = current_row()
            accounts.change_password(db(), row, form.new.data, current=form.current.data)
        except DomainError as exc:
            flash(exc.message, "danger")
            status = 422
        else:
            login_user(LoginUser.of(row))  # this session carries the new version
            flash(_("Password changed: you are logged out everywhere else."), "success")
            return redirect(url_for("auth.account"))
    return render_template("account.html", form=form, digests=EMAIL_DIGESTS), status


@bp.post("/account/digest")
@login_required
def account_digest():
    """Where and how often my inbox is mailed to me."""
    try:
        accounts.set_digest(current_row(), request.form.get("email"), request.form.get("digest", "off"))
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("Saved: your inbox digest."), "success")
    return redirect(url_for("auth.account"))
