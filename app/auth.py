"""Who is asking: Flask-Login sessions for pages, Bearer tokens for the JSON API, CSRF on forms.

Every route needs a login except those marked ``public``. Roles are checked by ``roles_required``.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from app.database import db
from gis import accounts
from gis.models import User

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
PUBLIC_ENDPOINTS = {"static"}


class LoginUser:
    """Flask-Login's view of a user: id and role at hand, the ORM row (``.row``) loaded when a
    view asks for it (report intake by token never does)."""

    def __init__(self, user_id: int, role: str, row: User | None = None):
        self.id = user_id
        self.role = role
        self._row = row
        self.is_authenticated = True
        self.is_active = True
        self.is_anonymous = False

    @classmethod
    def of(cls, row: User) -> LoginUser:
        return cls(row.id, row.role, row)

    @property
    def row(self) -> User:
        if self._row is None:
            self._row = db().get(User, self.id)
        return self._row

    def get_id(self) -> str:
        return str(self.id)


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
                abort(403, f"this needs the role {' or '.join(roles)}")
            return view(*args, **kwargs)

        return wrapped

    return decorate


def current_row() -> User:
    return current_user.row


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    app.before_request(_require_login)


@login_manager.user_loader
def _load_user(user_id: str):
    row = db().get(User, int(user_id))
    return LoginUser.of(row) if row and row.active else None


@login_manager.request_loader
def _load_from_token(req):
    token = _bearer_token(req)
    if token:
        identity = accounts.token_identity(db(), token)
        if identity:
            g.token_auth = True
            return LoginUser(*identity)
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


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if form.validate_on_submit():
        row = accounts.authenticate(db(), form.username.data.strip(), form.password.data)
        if row:
            login_user(LoginUser.of(row), remember=True)
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("pages.home")
            return redirect(target)
        flash("Wrong user name or password.", "danger")
    return render_template("login.html", form=form), 401 if request.method == "POST" else 200


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
