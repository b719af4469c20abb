"""The inbox by email: each person who gave an address and chose a digest (hourly or daily) gets,
once per period, what changed in their inbox since the last one — nothing when nothing did.
Sent through ``SMTP_URL`` (smtp://[user:password@]host:port, smtps:// for TLS, ?starttls=1).

Once per person and period even with several server processes: the sender takes an advisory
lock for the round, and each person's ``emailed_at`` is moved in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.accounts import viewer_of
from gis.cases.listing import inbox
from gis.errors import Invalid
from gis.i18n import _, reset_locale, set_locale
from gis.models import User, utcnow

PERIODS = {"hourly": dt.timedelta(hours=1), "daily": dt.timedelta(days=1)}
DIGEST_LOCK = 25  # pg_advisory_xact_lock key: one digest round at a time, across processes
PER_SECTION = 10  # cases listed per section in a mail


@dataclass(frozen=True)
class Mailer:
    """Where mail goes: parsed once from SMTP_URL."""

    host: str
    port: int
    user: str | None = None
    password: str | None = None
    tls: bool = False  # smtps://
    starttls: bool = False
    sender: str = "gridwatch@localhost"

    @classmethod
    def from_url(cls, url: str, sender: str | None = None) -> Mailer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise Invalid(_("SMTP_URL must look like smtp://host:25 or smtps://user:password@host:465"))
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=parts.scheme == "smtps",
            starttls=query.get("starttls", ["0"])[0] in ("1", "true"),
            sender=sender or "gridwatch@localhost",
        )

    def send(self, messages: list[EmailMessage]) -> None:
        """All of a round's mails over one connection."""
        if not messages:
            return
        connect = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        with connect(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            for message in messages:
                message["From"] = self.sender
                smtp.send_message(message)


def _digest_for(session: Session, user: User, base_url: str) -> EmailMessage | None:
    """The mail of what changed in ``user``'s inbox since their last one, in their language;
    None when nothing did."""
    token = set_locale(user.locale)
    try:
        since = user.emailed_at
        sections = [s for s in inbox(session, viewer_of(user), since, size=PER_SECTION) if s.new]
        if not sections:
            return None
        lines = [str(_("What changed in your GridWatch inbox:")), ""]
        for s in sections:
            lines.append(f"{s.title} ({s.new})")
            for row in s.rows:
                if since is None or row.report.updated_at > since:
                    lines.append(
                        f"  #{row.report.id} {row.description[:80]}  {base_url}/cases/{row.report.id}"
                    )
            lines.append(f"  {base_url}/cases?need={s.key}")
            lines.append("")
        lines.append(
            str(_("Change how often this comes on your account page: %(url)s", url=f"{base_url}/account"))
        )
        message = EmailMessage()
        message["To"] = user.email
        total = sum(s.new for s in sections)
        message["Subject"] = str(_("GridWatch: %(count)s changes in your inbox", count=total))
        message.set_content("\n".join(lines))
        return message
    finally:
        reset_locale(token)


def send_digests(
    session: Session, mailer: Mailer, base_url: str, now: dt.datetime | None = None
) -> list[str]:
    """One round: the digest of everyone whose period has passed (addresses mailed). Commit after
    it: the people's ``emailed_at`` moves with the round. Another process's round running: none."""
    if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": DIGEST_LOCK}):
        return []
    now = now or utcnow()
    people = session.scalars(
        select(User).where(User.active.is_(True), User.email.is_not(None), User.email_digest.in_(PERIODS))
    ).all()
    mails, sent_to = [], []
    for user in people:
        if user.emailed_at is not None and now - user.emailed_at < PERIODS[user.email_digest]:
            continue
        message = _digest_for(session, user, base_url.rstrip("/"))
        user.emailed_at = now
        if message is not None:
            mails.append(message)
            sent_to.append(str(user.email))
    mailer.send(mails)  # a failure raises: the round rolls back and is tried again
    session.flush()
    return sent_to
