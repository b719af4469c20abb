"""The server's own duties, no cron needed: every DUTIES_EVERY_S seconds each server process
escalates the overdue cases (gis.cases.escalation) and mails the inbox digests that are due
(gis.cases.digest, when SMTP_URL is set). Several processes may run them at once: escalation
locks its cases with SKIP LOCKED, digests take an advisory lock."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from flask import Flask

from gis.cases.digest import Mailer, send_digests
from gis.cases.escalation import escalate_overdue

log = logging.getLogger(__name__)


def run_duties(app: Flask) -> dict:
    """One round of every duty, each in its own transaction; what each did."""
    sessions = app.extensions["gridwatch.sessions"]
    done: dict = {}
    with sessions() as session:
        margin = dt.timedelta(hours=app.config["ESCALATE_AFTER_HOURS"])
        done["escalated"] = len(escalate_overdue(session, margin))
        session.commit()
    if app.config.get("SMTP_URL"):
        mailer = Mailer.from_url(app.config["SMTP_URL"], app.config.get("MAIL_FROM"))
        with sessions() as session:
            done["mailed"] = len(send_digests(session, mailer, app.config["PUBLIC_URL"]))
            session.commit()
    return done


def start(app: Flask) -> threading.Thread | None:
    """The duties' thread of this process (RUN_DUTIES: `gridwatch serve` sets it)."""
    if not app.config.get("RUN_DUTIES"):
        return None
    every = app.config["DUTIES_EVERY_S"]
    stop = app.extensions.setdefault("gridwatch.stop", threading.Event())

    def loop() -> None:
        while not stop.wait(every):
            try:
                run_duties(app)
            except Exception:  # a database restart, an SMTP server away: the next round tries again
                log.exception("duties round failed")

    thread = threading.Thread(target=loop, name="gridwatch-duties", daemon=True)
    thread.start()
    return thread
