"""The live map (/api/v1/live): new reports and steps of the loop reach connected maps and
dashboards without a reload, as Server-Sent Events.

Each server process holds one PostgreSQL connection that LISTENs on the channel every change of a
case is announced on (gis.cases.lifecycle.announce, sent at commit); a stream wakes when ids
arrive and reads them through the access policy as the viewer who opened it
(``gis.maps.layers.live_pins``): a case they may not open is never sent, and personal data is
masked as on the map. A stream re-checks its viewer at every keep-alive, and ends when they are
gone (logged out everywhere, deactivated).
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Iterator

import psycopg
from flask import Blueprint, Flask, Response, current_app
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import make_url

from app.auth import current_viewer
from app.openapi import Reply, operation
from app.schemas import REFUSED
from gis.accounts import viewer_by_id
from gis.cases.lifecycle import LIVE_CHANNEL
from gis.errors import Unavailable
from gis.i18n import _
from gis.maps.layers import live_pins

log = logging.getLogger(__name__)
bp = Blueprint("live", __name__, url_prefix="/api/v1")

KEEP_ALIVE_S = 15.0  # a comment this often: proxies keep the stream open, the viewer is re-checked
KEPT = 2000  # announcements kept for streams that were busy reading the ones before
RELOAD = "reload"  # what a stream is told when announcements were missed: fetch the view again
CACHED = 256  # (viewer, announcement) pins kept for the other streams of the same viewer
MAX_IDS = 500  # ids read per wake-up; more (a bulk step) and the map reloads instead


class Hub:
    """One process's listener: announcements numbered as they arrive, and a condition to wait on."""

    def __init__(self, database_url: str):
        url = make_url(database_url)
        args, kwargs = psycopg_dialect().create_connect_args(url)
        self._connect = lambda: psycopg.connect(*args, autocommit=True, **kwargs)
        self._changed = threading.Condition()
        self._kept: collections.deque[tuple[int, str]] = collections.deque(maxlen=KEPT)
        self._seq = 0
        self._stop = threading.Event()
        self._cache: dict[tuple, dict] = {}  # (viewer, ids) → their pins, the newest CACHED kept
        self._cache_lock = threading.Lock()
        self._thread = threading.Thread(target=self._listen, name="gridwatch-live", daemon=True)
        self._thread.start()

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _publish(self, payload: str) -> None:
        with self._changed:
            self._seq += 1
            self._kept.append((self._seq, payload))
            self._changed.notify_all()

    def _listen(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                with self._connect() as connection:
                    connection.execute(f"LISTEN {LIVE_CHANNEL}")
                    if not first:  # what was announced while we were away is lost: reload
                        self._publish(RELOAD)
                    first = False
                    while not self._stop.is_set():
                        for notify in connection.notifies(timeout=1.0):
                            self._publish(notify.payload)
            except psycopg.Error:
                log.warning("live: lost the database, listening again in 1 s")
                self._stop.wait(1.0)

    def wait(self, after: int, timeout: float) -> tuple[int, list[str]]:
        """The announcements after number ``after`` (waiting up to ``timeout`` for one), and the
        number to wait after next time; [RELOAD] when some were already dropped."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq > after or self._stop.is_set(), timeout)
            if self._seq <= after:
                return after, []
            oldest = self._kept[0][0] if self._kept else self._seq + 1
            if oldest > after + 1:
                return self._seq, [RELOAD]
            return self._seq, [payload for seq, payload in self._kept if seq > after]

    def pins(self, viewer, ids: list[int], read) -> list[dict]:
        """``read(ids)`` for this viewer, once per process however many of their streams ask: the
        same viewer (role, scope) gets the same pins, so fifty wall maps of one supervisor cost
        one query per announcement, not fifty."""
        key = (viewer, tuple(ids))
        with self._cache_lock:
            entry = self._cache.get(key)
            owner = entry is None
            if owner:
                entry = self._cache[key] = {"done": threading.Event(), "pins": []}
                while len(self._cache) > CACHED:
                    self._cache.pop(next(iter(self._cache)))
        if owner:
            try:
                entry["pins"] = read(ids)
            finally:
                entry["done"].set()
        else:
            entry["done"].wait(10)
        return entry["pins"]

    def stop(self) -> None:
        """Wake every stream and close the listening connection (within a second)."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join(5)


_hub_lock = threading.Lock()


def hub_of(app: Flask) -> Hub:
    """This process's hub, started by the first stream."""
    with _hub_lock:
        hub = app.extensions.get("gridwatch.live")
        if hub is None:
            hub = app.extensions["gridwatch.live"] = Hub(app.config["DATABASE_URL"])
            app.extensions["gridwatch.live_slots"] = threading.BoundedSemaphore(app.config["LIVE_STREAMS"])
        return hub


def _event(name: str, data, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def _ids(payloads: list[str]) -> list[int] | None:
    """The case ids announced (None: reload instead: missed announcements, or too many)."""
    ids: list[int] = []
    for payload in payloads:
        if payload == RELOAD:
            return None
        ids += [int(part) for part in payload.split(",") if part.isdigit()]
    unique = sorted(set(ids))
    return unique if len(unique) <= MAX_IDS else None


def _read_pins(sessions, viewer, ids: list[int]) -> list[dict]:
    with sessions() as session:
        return live_pins(session, viewer, ids)


@bp.get("/live")
@operation(
    "Server-Sent Events: each case the asker may open, as a map pin (GeoJSON Feature), when it is "
    "reported or takes a step ('report' events); 'reload' when the view should be fetched again",
    responses={200: Reply({"type": "string"}, media="text/event-stream"), "default": REFUSED},
    tags=("maps",),
)
def live():
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    viewer = current_viewer()
    sessions = app.extensions["gridwatch.sessions"]
    hub = hub_of(app)
    start = hub.seq
    # a stream holds one of the server's threads for as long as it is open: past LIVE_STREAMS a
    # process keeps its other threads for requests, and the map falls back to refreshing itself
    slots = app.extensions["gridwatch.live_slots"]
    if not slots.acquire(blocking=False):
        raise Unavailable(
            _("too many live maps on this server: this map refreshes itself every minute instead"),
            retry_after=60,
        )

    def stream() -> Iterator[str]:
        after, last_check = start, time.monotonic()
        yield f"retry: 3000\n: {viewer.id}\n\n"
        while True:
            after, payloads = hub.wait(after, KEEP_ALIVE_S)
            if hub.stopped:  # the server is stopping: the browser reconnects to the next one
                return
            if time.monotonic() - last_check >= KEEP_ALIVE_S:
                with sessions() as session:
                    now = viewer_by_id(session, viewer.id)
                if now is None or now.session_version != viewer.session_version:
                    return
                last_check = time.monotonic()
            if not payloads:
                yield ": still here\n\n"
                continue
            ids = _ids(payloads)
            if ids is None:
                yield _event("reload", {}, after)
                continue
            features = hub.pins(viewer, ids, lambda wanted: _read_pins(sessions, viewer, wanted))
            for feature in features:
                yield _event("report", feature, after)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    # not stream_with_context: the request's session is closed before the stream starts
    response = Response(stream(), mimetype="text/event-stream", headers=headers)
    response.call_on_close(slots.release)
    return response
