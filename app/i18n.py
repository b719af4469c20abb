"""Each request in its reader's language and local time.

The language is the user's setting (``users.locale``, chosen on the account page or by the nav's
switch), else the ``gw_locale`` cookie (the switch before logging in), else the browser's
``Accept-Language``, else Chinese. Flask-Babel translates the templates; the core's messages
(``gis.i18n``) are rendered in the same locale, and so is the JavaScript, through a catalogue this
module serves per locale (``/i18n/<locale>.js``). Times are shown in ``TIMEZONE`` on every page and
export, one format; the API keeps ISO 8601 with its offset.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from babel.messages.mofile import read_mo
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    has_request_context,
    make_response,
    redirect,
    request,
)
from flask.json.provider import DefaultJSONProvider
from flask.json.tag import JSONTag
from flask_babel import Babel, format_date, get_locale
from flask_login import current_user
from sqlalchemy import select, update

from app.auth import public, safe_next
from app.database import db
from gis import i18n
from gis.cases.categories import display_names
from gis.cases.lifecycle import event_name
from gis.i18n import LOCALES, Message
from gis.models import (
    CHANNEL_NAMES,
    LEVEL_NAMES,
    NETWORK_ROLE_NAMES,
    PRIVACY_NAMES,
    RESPONSE_LEVEL_NAMES,
    ROLE_NAMES,
    STATUS_NAMES,
    Category,
    User,
)

bp = Blueprint("i18n", __name__)
COOKIE = "gw_locale"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
TIME_FORMAT = "%Y-%m-%d %H:%M"
# Accept-Language tags to our locales: any Chinese reads Chinese (the catalogue is Simplified).
ACCEPTED = {"zh": "zh_Hans_CN", "zh-CN": "zh_Hans_CN", "zh-Hans": "zh_Hans_CN", "en": "en"}
LANGUAGE_NAMES = {"zh_Hans_CN": "中文", "en": "English"}
HTML_LANG = {"zh_Hans_CN": "zh-CN", "en": "en"}


class MessageJSON(DefaultJSONProvider):
    """JSON that renders the core's messages in the request's language."""

    @staticmethod
    def default(o):
        if isinstance(o, Message):
            return str(o)
        return DefaultJSONProvider.default(o)


class MessageTag(JSONTag):
    """A message in the session (a flash) is kept as the text it reads now."""

    __slots__ = ()
    key = " gw"

    def check(self, value) -> bool:
        return isinstance(value, Message)

    def to_json(self, value):
        return str(value)

    def to_python(self, value):
        return value


def select_locale() -> str:
    # the user as the login gate loaded them, if it did (a token-checking view never loads one)
    user = g.get("_login_user")
    if user is not None and user.is_authenticated and user.viewer.locale:
        return user.viewer.locale
    if request.cookies.get(COOKIE) in LOCALES:
        return request.cookies[COOKIE]
    return (
        ACCEPTED.get(request.accept_languages.best_match(list(ACCEPTED)) or "", "")
        or current_app.config["LOCALE"]
    )


def request_locale() -> str:
    """The locale this request reads (``zh_Hans_CN`` or ``en``)."""
    return str(get_locale())


def _core_locale() -> str | None:
    """The core's messages in the request's language, when there is a request."""
    return request_locale() if has_request_context() else None


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_time(value: dt.datetime | None, format: str = TIME_FORMAT) -> str:
    """``value`` in the configured TIMEZONE, as every page and export shows a time."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(local_zone()).strftime(format)


class CategoryNames(Mapping):
    """Each category's name as lists show it in this request's language (loaded when first read)."""

    def __init__(self):
        self._names: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._names is None:
            self._names = display_names(db().scalars(select(Category)).all(), request_locale())
        return self._names

    def __getitem__(self, code: str) -> str:
        return self._load()[code]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def _names_of(names: dict):
    return lambda code: str(names.get(code, code)) if code else ""


def init_app(app: Flask) -> None:
    app.config.setdefault("LOCALE", i18n.DEFAULT_LOCALE)
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["LOCALE"]
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["TIMEZONE"]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(i18n.TRANSLATIONS)
    app.json_provider_class = MessageJSON
    app.json = MessageJSON(app)
    if MessageTag.key not in app.session_interface.serializer.tags:  # one serializer for all apps
        app.session_interface.serializer.register(MessageTag, index=0)
    Babel(app, locale_selector=select_locale)
    i18n.set_locale_resolver(_core_locale)
    app.add_template_filter(local_time, "localtime")
    app.add_template_filter(lambda day: format_date(day, "medium") if day else "", "localdate")
    app.jinja_env.globals.update(
        request_locale=request_locale,
        html_lang=lambda: HTML_LANG[request_locale()],
        language_names=LANGUAGE_NAMES,
        status_name=_names_of(STATUS_NAMES),
        channel_name=_names_of(CHANNEL_NAMES),
        level_name=_names_of({**LEVEL_NAMES, **RESPONSE_LEVEL_NAMES}),
        role_name=_names_of(ROLE_NAMES),
        event_name=event_name,
        privacy_names=PRIVACY_NAMES,
    )
    app.context_processor(lambda: {"category_names": CategoryNames()})
    app.register_blueprint(bp)


def js_catalogue(locale: str) -> dict[str, str]:
    """The JavaScript's msgids and their translations in ``locale`` (``js`` domain)."""
    path = i18n.TRANSLATIONS / locale / "LC_MESSAGES" / "js.mo"
    if locale == "en" or not path.exists():
        return {}
    with path.open("rb") as file:
        catalogue = read_mo(file)
    return {m.id: m.string for m in catalogue if m.id and m.string}


def names_in(locale: str) -> dict[str, dict[str, str]]:
    """The words for the codes the API gives (statuses, channels, roles, levels) in ``locale``."""
    token = i18n.set_locale(locale)
    try:
        return {
            kind: {code: str(name) for code, name in names.items()}
            for kind, names in (
                ("status", STATUS_NAMES),
                ("channel", CHANNEL_NAMES),
                ("role", ROLE_NAMES),
                ("level", LEVEL_NAMES),
                ("network_role", NETWORK_ROLE_NAMES),
            )
        }
    finally:
        i18n.reset_locale(token)


@bp.get("/i18n/<locale>.js")
@public
def catalogue_script(locale: str):
    """The JavaScript's words in ``locale`` (static/js/i18n.js's ``_t`` and ``GW_NAME`` read them)
    and the zone its times are shown in."""
    response = Response(catalogue_body(locale), mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def catalogue_body(locale: str) -> str:
    """The catalogue script's text (served at /i18n/<locale>.js, or inlined in a first visit)."""
    if locale not in LOCALES:
        locale = i18n.DEFAULT_LOCALE
    return "".join(
        f"window.{name} = {json.dumps(value, ensure_ascii=False)};\n"
        for name, value in (
            ("GW_LOCALE", HTML_LANG[locale]),
            ("GW_TIMEZONE", current_app.config["TIMEZONE"]),
            ("GW_CATALOGUE", _cached_catalogue(locale)),
            ("GW_NAMES", names_in(locale)),
        )
    )


_CATALOGUES: dict[str, dict[str, str]] = {}


def _cached_catalogue(locale: str) -> dict[str, str]:
    if locale not in _CATALOGUES:
        _CATALOGUES[locale] = js_catalogue(locale)
    return _CATALOGUES[locale]


@bp.post("/locale")
@public
def choose():
    """The nav's language switch: kept on the user (when logged in) and in a cookie."""
    locale = request.form.get("locale")
    if locale not in LOCALES:
        locale = i18n.DEFAULT_LOCALE
    if current_user.is_authenticated:  # committed with the answer
        db().execute(update(User).where(User.id == current_user.id).values(locale=locale))
    response = make_response(redirect(safe_next(request.form.get("next")) or "/"))
    response.set_cookie(COOKIE, locale, max_age=COOKIE_MAX_AGE_S, samesite="Lax", httponly=True)
    return response
