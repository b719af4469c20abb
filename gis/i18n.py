"""Words people read, in their language: Chinese first (zh_Hans_CN), English second.

Every message the core gives a person is written ``_("no report %(id)s", id=...)``: a msgid (the
English text, with named %-placeholders) and its values, rendered when it is read, in the
language of whoever reads it — the web request's (app/i18n.py resolves it), the CLI's (its LANG)
or the default. The catalogues are ``translations/<locale>/LC_MESSAGES/messages.po`` (``make i18n``
extracts the msgids; the set-up compiles them); pages use the same ones through Flask-Babel.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
LOCALES = ("zh_Hans_CN", "en")
DEFAULT_LOCALE = LOCALES[0]
_locale: ContextVar[str | None] = ContextVar("gridwatch_locale", default=None)
_default = [DEFAULT_LOCALE]
_resolvers: list[Callable[[], str | None]] = []


@functools.cache
def catalogue(locale: str) -> NullTranslations:
    """The compiled catalogue of ``locale`` (English is the msgids themselves)."""
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [locale], domain="messages")


def current_locale() -> str:
    """The locale set in this context, else the resolver's (the web request's), else the default."""
    chosen = _locale.get()
    if chosen:
        return chosen
    for resolve in _resolvers:
        if found := resolve():
            return found
    return _default[0]


def set_locale_resolver(resolve: Callable[[], str | None]) -> None:
    """Ask ``resolve`` for the locale when none is set (app/i18n.py: the request's reader's)."""
    _resolvers[:] = [resolve]


def set_locale(locale: str | None):
    """Use ``locale`` for messages rendered in this context (a request, a command); returns the
    token to undo it with ``_locale.reset``."""
    return _locale.set(locale if locale in LOCALES else None)


def reset_locale(token) -> None:
    """Undo a ``set_locale``."""
    _locale.reset(token)


def set_default_locale(locale: str) -> None:
    """The locale when nobody said one (tests read English; a deployment reads Chinese)."""
    _default[0] = locale if locale in LOCALES else DEFAULT_LOCALE


def locale_from_environment() -> str | None:
    """The CLI's locale: LOCALE, else LANG (zh_* → Chinese, en_* → English), else None."""
    value = os.environ.get("LOCALE") or os.environ.get("LANG") or ""
    if value in LOCALES:
        return value
    if value.startswith("en"):
        return "en"
    if value.startswith("zh"):
        return "zh_Hans_CN"
    return None


def gettext(msgid: str, **params) -> str:
    """``msgid`` in the current locale, with ``params`` put in."""
    return translate(msgid, current_locale(), params)


def translate(msgid: str, locale: str, params: dict) -> str:
    """``msgid`` in ``locale``, with ``params`` put in."""
    text = catalogue(locale).gettext(msgid)
    return text % params if params else text


class Message:
    """A message to render when it is read: ``str(message)`` in the reader's language."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, params: dict):
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        return self.in_locale(current_locale())

    def in_locale(self, locale: str) -> str:
        """The message in ``locale``."""
        params = {k: str(v) if isinstance(v, (Message, Joined)) else v for k, v in self.params.items()}
        return translate(self.msgid, locale, params)

    def __repr__(self) -> str:
        return f"Message({self.msgid!r})"

    def __contains__(self, item: str) -> bool:
        return item in str(self)

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.msgid)

    def __add__(self, other) -> str:
        return str(self) + str(other)

    def __radd__(self, other) -> str:
        return str(other) + str(self)


class Joined:
    """Messages (or texts) joined by ``sep``, rendered when read."""

    __slots__ = ("items", "sep")

    def __init__(self, sep: str, items):
        self.sep, self.items = sep, list(items)

    def __str__(self) -> str:
        return self.sep.join(str(i) for i in self.items)


# What a message parameter or a report's line may be: plain text, or words rendered when read.
Words = str | Message | Joined


def joined(sep: str, items) -> Joined:
    return Joined(sep, items)


def _(msgid: str, **params) -> Message:
    """Mark ``msgid`` for translation; rendered (with ``params``) when read."""
    return Message(msgid, params)


def text(value) -> str | None:
    """A message (or plain text, or None) as the text to show now."""
    return None if value is None else str(value)


def texts(value):
    """``value`` with every Message inside it (dicts, lists) rendered: for JSON answers."""
    if isinstance(value, (Message, Joined)):
        return str(value)
    if isinstance(value, dict):
        return {k: texts(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [texts(v) for v in value]
    return value


MSGID, PARAMS = "$msgid", "$params"


def stored(value):
    """``value`` as JSON to keep (a track's cleaning, an import's report): each Message as its
    msgid and parameters, so it is read later in the reader's language, not the writer's."""
    if isinstance(value, Message):
        return {MSGID: value.msgid, PARAMS: stored(value.params)}
    if isinstance(value, Joined):
        return {MSGID: "%(items)s", PARAMS: {"items": str(value)}}
    if isinstance(value, dict):
        return {k: stored(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [stored(v) for v in value]
    return value


def restored(value):
    """The inverse of ``stored``: kept JSON with its Messages back."""
    if isinstance(value, dict):
        if MSGID in value:
            return Message(value[MSGID], restored(value.get(PARAMS) or {}))
        return {k: restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restored(v) for v in value]
    return value
