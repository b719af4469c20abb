"""Users, roles, grid assignments and API tokens (hashed; the token itself is shown once); who a
request is (``Viewer``); passwords and log-in throttling."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from gis.errors import Invalid, NotFound, TooManyAttempts
from gis.i18n import _
from gis.models import (
    AREA_LEVELS,
    CODE_LENGTH,
    EMAIL_DIGESTS,
    ROLES,
    Area,
    Department,
    LoginFailures,
    User,
    utcnow,
)

# werkzeug's default (scrypt). Tests lower it: hashing is deliberately slow.
PASSWORD_HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = Path(__file__).with_name("data") / "common-passwords.txt"
# Log-in throttling: after this many failures in a row for an account or an address, each further
# attempt waits FIRST_DELAY, doubling per failure up to MAX_DELAY; FORGET_AFTER without a failure
# starts the count again.
FREE_FAILURES = 5
FIRST_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(minutes=15)
FORGET_AFTER = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Viewer:
    """Who is asking, as the access policy needs it (gis/cases/policy.py): loaded with the login
    or the token in one statement (``VIEWER_SQL``), never the ORM row."""

    id: int
    role: str
    department_id: int | None = None
    area_code: str | None = None  # supervisors and dispatchers: their district, street or community
    grid_ids: tuple[int, ...] = ()  # grid workers: their grids
    session_version: int = 1
    locale: str | None = None  # their chosen language (NULL: the browser's)
    department_lead: bool = False  # assigns the department's cases to its members


def viewer_of(user: User | Viewer) -> Viewer:
    """The Viewer of an ORM user (tests and commands hold those); a Viewer as it is."""
    if isinstance(user, Viewer):
        return user
    return Viewer(
        user.id,
        user.role,
        user.department_id,
        user.area_code,
        tuple(sorted(g.id for g in user.grids)),
        user.session_version,
        user.locale,
        bool(user.department_lead),
    )


# A viewer by id (sessions) or by token digest (the API): one statement on every request.
VIEWER_COLUMNS = """
    SELECT u.id, u.role, u.department_id, u.area_code,
           ARRAY(SELECT ug.area_id FROM user_grids ug
                 WHERE ug.user_id = u.id ORDER BY ug.area_id) AS grid_ids,
           u.session_version, u.locale, u.department_lead
    FROM users u"""
VIEWER_BY_ID_SQL = text(f"{VIEWER_COLUMNS} WHERE u.id = :id AND u.active")
VIEWER_BY_DIGEST_SQL = text(f"{VIEWER_COLUMNS} WHERE u.api_token_hash = :digest AND u.active")


def _viewer(row) -> Viewer | None:
    return (
        Viewer(
            row.id,
            row.role,
            row.department_id,
            row.area_code,
            tuple(row.grid_ids),
            row.session_version,
            row.locale,
            row.department_lead,
        )
        if row
        else None
    )


def viewer_by_id(session: Session, user_id: int) -> Viewer | None:
    return _viewer(session.connection().execute(VIEWER_BY_ID_SQL, {"id": user_id}).first())


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def check_password(password: str, username: str | None = None) -> None:
    """Refuse a password that is short, blank, the user name, or in a list of common ones."""
    if not password.strip():
        raise Invalid(_("a password cannot be only spaces"))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            _(
                "a password needs at least %(min_password_length)s characters",
                min_password_length=MIN_PASSWORD_LENGTH,
            )
        )
    if password.lower() in _common_passwords() or (username and password.lower() == username.lower()):
        raise Invalid(
            _("this password is too easy to guess (it is in a list of common passwords): choose another")
        )


def _hash(password: str) -> str:
    return generate_password_hash(password, PASSWORD_HASH_METHOD)


def check_area_code(session: Session, code: str | None) -> str | None:
    """A district, street or community code that exists (a supervisor's or dispatcher's area)."""
    if not code:
        return None
    level = session.scalar(select(Area.level).where(Area.code == code))
    if level not in AREA_LEVELS[:3]:
        raise NotFound(_("no district, street or community with code %(code)s", code=code))
    return code


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    display_name: str | None = None,
    grid_codes: tuple[str, ...] = (),
    department_code: str | None = None,
    area_code: str | None = None,
    department_lead: bool = False,
    email: str | None = None,
) -> User:
    if role not in ROLES:
        raise Invalid(
            _("unknown role %(role)s: choose one of %(items)s", role=repr(role), items=", ".join(ROLES))
        )
    if session.scalar(select(User.id).where(User.username == username)):
        raise Invalid(_("a user named %(username)s already exists", username=repr(username)))
    check_password(password, username)
    if role == "volunteer" and (not area_code or len(area_code) != CODE_LENGTH["community"]):
        raise Invalid(_("a volunteer (a building or unit head) belongs to a community: give its code"))
    user = User(
        username=username,
        role=role,
        display_name=display_name or username,
        password_hash=_hash(password),
        area_code=check_area_code(session, area_code),
        department_lead=department_lead,
        email=email or None,
    )
    for code in grid_codes:
        grid = session.scalar(select(Area).where(Area.code == code))
        if grid is None:
            raise NotFound(_("no area with code %(code)s", code=code))
        user.grids.append(grid)
    if department_code:
        department = session.scalar(select(Department).where(Department.code == department_code))
        if department is None:
            raise NotFound(_("no department with code %(department_code)s", department_code=department_code))
        user.department = department
    if department_lead and user.department is None:
        raise Invalid(_("a department lead needs a department"))
    session.add(user)
    session.flush()
    return user


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def set_digest(user: User, email: str | None, digest: str) -> None:
    """Where and how often the person's inbox is mailed (gis.cases.digest); no address, no mail."""
    email = (email or "").strip() or None
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        raise Invalid(
            _("%(email)s is not an email address", email=repr(email)), fields={"email": _("not an address")}
        )
    if digest not in EMAIL_DIGESTS:
        raise Invalid(_("a digest is one of %(items)s", items=", ".join(EMAIL_DIGESTS)))
    if digest != "off" and email is None:
        raise Invalid(_("a digest needs an email address"), fields={"email": _("is required")})
    user.email, user.email_digest = email, digest


def issue_token(user: User) -> str:
    """A new API token for ``user`` (replacing any old one); only its digest is stored."""
    token = secrets.token_urlsafe(32)
    user.api_token_hash = token_digest(token)
    return token


def end_sessions(session: Session, user_id: int) -> None:
    """End every session and remember-cookie of the user (they carry the old version)."""
    session.execute(
        text("UPDATE users SET session_version = session_version + 1 WHERE id = :id"), {"id": user_id}
    )


def change_password(session: Session, user: User, new_password: str, current: str | None = None) -> None:
    """Set a new password (checking the current one when given) and end every session."""
    if current is not None and not check_password_hash(user.password_hash, current):
        raise Invalid(_("the current password is not right"))
    check_password(new_password, user.username)
    user.password_hash = _hash(new_password)
    session.flush()
    end_sessions(session, user.id)
    session.refresh(user, ["session_version"])


@functools.cache
def _dummy_hash() -> str:
    """A hash to check an unknown user's password against: the same work as for a known user."""
    return _hash(secrets.token_urlsafe(16))


def _failures_of(session: Session, keys: list[str], now: dt.datetime) -> int:
    rows = session.scalars(select(LoginFailures).where(LoginFailures.key.in_(keys))).all()
    return max((r.failures for r in rows if now - r.last_at < FORGET_AFTER), default=0)


def _wait(failures: int) -> dt.timedelta:
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    return min(FIRST_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY)


def authenticate(
    session: Session, username: str, password: str, address: str | None = None, now: dt.datetime | None = None
) -> User | None:
    """The active user with this name and password, else None. Throttled per account and per
    address: after FREE_FAILURES failures each attempt must wait longer (``TooManyAttempts``
    says how long), and an unknown name costs the same password check as a known one."""
    now = now or utcnow()
    keys = [f"user:{username.lower()}"] + ([f"addr:{address}"] if address else [])
    last = session.scalar(
        select(LoginFailures.last_at)
        .where(LoginFailures.key.in_(keys))
        .order_by(LoginFailures.last_at.desc())
    )
    failures = _failures_of(session, keys, now)
    if last is not None and failures >= FREE_FAILURES and now < last + _wait(failures):
        seconds = int((last + _wait(failures) - now).total_seconds()) + 1
        raise TooManyAttempts(
            _(
                "too many failed log-ins for this account or address: try again in %(seconds)s seconds",
                seconds=seconds,
            ),
            retry_after=seconds,
        )
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if check_password_hash(user.password_hash if user else _dummy_hash(), password) and user:
        session.execute(text("DELETE FROM login_failures WHERE key = :k"), {"k": keys[0]})
        return user
    stmt = insert(LoginFailures).values([{"key": key, "failures": 1, "last_at": now} for key in keys])
    counted = text(
        "CASE WHEN login_failures.last_at < :forgotten THEN 1 ELSE login_failures.failures + 1 END"
    ).bindparams(forgotten=now - FORGET_AFTER)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[LoginFailures.key], set_={"failures": counted, "last_at": stmt.excluded.last_at}
        )
    )
    return None


UNAUTHORIZED_MESSAGE = _("log in, or send 'Authorization: Bearer <token>' (gridwatch users token NAME)")


def token_viewer(session: Session, token: str) -> Viewer | None:
    """The active user holding ``token``, as a Viewer: what every API call needs, in one statement."""
    return digest_viewer(session, token_digest(token))


def digest_viewer(session: Session, digest: str) -> Viewer | None:
    session.flush()  # a token issued in this session but not yet written counts too
    return _viewer(session.connection().execute(VIEWER_BY_DIGEST_SQL, {"digest": digest}).first())


def user_for_token(session: Session, token: str) -> User | None:
    viewer = token_viewer(session, token)
    return session.get(User, viewer.id) if viewer else None
