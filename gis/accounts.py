"""Users, roles, grid assignments and API tokens (hashed; the token itself is shown once)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from gis.errors import Invalid, NotFound
from gis.models import ROLES, Area, Department, User

# werkzeug's default (scrypt). Tests lower it: hashing is deliberately slow.
PASSWORD_HASH_METHOD = "scrypt"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    display_name: str | None = None,
    grid_codes: tuple[str, ...] = (),
    department_code: str | None = None,
) -> User:
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Invalid(f"a user named {username!r} already exists")
    if len(password) < 8:
        raise Invalid("a password needs at least 8 characters")
    user = User(
        username=username,
        role=role,
        display_name=display_name or username,
        password_hash=generate_password_hash(password, PASSWORD_HASH_METHOD),
    )
    for code in grid_codes:
        grid = session.scalar(select(Area).where(Area.code == code))
        if grid is None:
            raise NotFound(f"no area with code {code}")
        user.grids.append(grid)
    if department_code:
        department = session.scalar(select(Department).where(Department.code == department_code))
        if department is None:
            raise NotFound(f"no department with code {department_code}")
        user.department = department
    session.add(user)
    session.flush()
    return user


def issue_token(user: User) -> str:
    """A new API token for ``user`` (replacing any old one); only its digest is stored."""
    token = secrets.token_urlsafe(32)
    user.api_token_hash = token_digest(token)
    return token


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user and check_password_hash(user.password_hash, password):
        return user
    return None


# The active user whose token this is (only its digest is stored). Every API call asks: a plain
# statement on the session's connection, no ORM query to build, compile and load (a third of the
# lookup's time).
TOKEN_IDENTITY_SQL = text("SELECT id, role FROM users WHERE api_token_hash = :digest AND active")


UNAUTHORIZED_MESSAGE = "log in, or send 'Authorization: Bearer <token>' (gridwatch users token NAME)"


def token_identity(session: Session, token: str) -> tuple[int, str] | None:
    """(id, role) of the active user holding ``token``: what every API call needs, without
    loading the user."""
    return digest_identity(session, token_digest(token))


def digest_identity(session: Session, digest: str) -> tuple[int, str] | None:
    session.flush()  # a token issued in this session but not yet written counts too
    row = session.connection().execute(TOKEN_IDENTITY_SQL, {"digest": digest}).first()
    return (row.id, row.role) if row else None


def user_for_token(session: Session, token: str) -> User | None:
    identity = token_identity(session, token)
    return session.get(User, identity[0]) if identity else None
