"""Outgoing email that must not be lost, sent over SMTP.

Like bot/outbox.py: an email is queued in the transaction that decides to send it (`queue_email`), and
the `deliver_email` job sends it after the commit (`Mailer.deliver_due`). A sender claims a row with an
atomic update first, so two processes never send the same email twice.

`SMTP_URL` says where mail goes:

- `smtp://user:pass@host:587`: plain connection upgraded with STARTTLS. With credentials STARTTLS is
  required (a server that does not offer it gets no password); without credentials, a local relay that
  offers no STARTTLS is used in plain text.
- `smtps://user:pass@host:465`: TLS from the first byte.
- Ports default to 587 (`smtp`) and 465 (`smtps`); user and password are URL-decoded (`p%40ss` → `p@ss`).
- `SMTP_CA_FILE` replaces the system's CA certificates for verifying the server.

A temporary failure (connection refused or timed out, a 4xx reply, a refused login) is retried with
back-off; a 5xx refusal of the recipients or of the message fails at once, since sending the same thing
again gets the same answer. After MAX_ATTEMPTS the email fails for good. Without SMTP_URL emails stay
queued (the job says how many are waiting) and go out once it is set.
"""

from __future__ import annotations

import logging
import re
import secrets
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage as MimeMessage
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlmodel import Session, col, select, update

from bot.access import AccessDenied, Actor
from bot.outbox import DeliveryReport, backoff
from bot.settings import Settings
from bot.templates import PROMPTS_DIR, render
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.db import Database
from storage.models import Candidate, EmailMessage, OutboxStatus, Position

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
# Greylisting servers ask senders to come back after a few minutes; 30 s doubling reaches that quickly and
# spreads the twelve attempts over about seven hours.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# Several SMTP round trips of at most SMTP_TIMEOUT each fit well inside the claim.
CLAIM_FOR = timedelta(minutes=2)
# Rows claimed (and their messages built) in one transaction: one commit for many rows rather than one each,
# while a batch still goes out well inside CLAIM_FOR.
CLAIM_BATCH = 50
SMTP_TIMEOUT = 10.0
DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
MAX_SUBJECT = 300
# Headers the mailer writes itself; a caller's extra headers must not replace or duplicate them.
RESERVED_HEADERS = frozenset({
    "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "mime-version",
    "content-type", "content-transfer-encoding", "content-disposition",
})
HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field-name: printable ASCII except ':'
FALLBACK_MESSAGE_ID_DOMAIN = "talentbot.invalid"


class SmtpUrlError(ValueError):
    """SMTP_URL cannot be used; the message says why without repeating the password."""


class InsecureSmtpError(smtplib.SMTPException):
    """The server offers no STARTTLS but we hold credentials; they never go over a plain connection."""


@dataclass(frozen=True)
class SmtpTarget:
    implicit_tls: bool
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def describe(self) -> str:
        """For logs and `talentbot check`: never includes the password."""
        mode = "TLS" if self.implicit_tls else "STARTTLS" + (" required" if self.username else " if offered")
        return f"{self.host}:{self.port} ({mode}" + (f", login as {self.username})" if self.username else ")")


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise SmtpUrlError("must start with smtp:// (STARTTLS) or smtps:// (TLS)")
    if not parts.hostname:
        raise SmtpUrlError("names no host, e.g. smtp://user:pass@mail.example.com:587")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as error:
        raise SmtpUrlError(f"has an invalid port: {error}") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpTarget(parts.scheme == "smtps", parts.hostname, port, username, password)


# --- composing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


def render_email(template_base: str, **context: Any) -> RenderedEmail:
    """Render prompts/<template_base>.subject.j2, .txt.j2 and, when it exists, .html.j2."""
    # A subject is one header line, whatever line breaks the template or the data bring.
    subject = " ".join(render(f"{template_base}.subject.j2", **context).split())
    text = render(f"{template_base}.txt.j2", **context) + "\n"
    has_html = (PROMPTS_DIR / f"{template_base}.html.j2").is_file()
    html = render(f"{template_base}.html.j2", **context) + "\n" if has_html else None
    return RenderedEmail(subject=subject, text=text, html=html)


def queue_email(session: Session, *, kind: str, to: list[str], subject: str, text_body: str,
                html_body: str | None = None, reply_to: str | None = None, headers: dict[str, str] | None = None,
                attachments: list[dict[str, str]] | None = None, candidate_id: int | None = None,
                dedupe_key: str, now: datetime) -> EmailMessage:
    """Queue an email in the caller's transaction. The same dedupe_key queued twice is one email.

    Everything is checked here, so that a mistake fails in the caller's transaction rather than in the
    delivery job hours later. Attachments are `{"filename", "content_type", "content"}` with text content,
    e.g. `text/calendar; method=REQUEST`.
    """
    existing = queries.email_by_dedupe_key(session, dedupe_key)
    if existing is not None:
        return existing
    _check_email(to=to, subject=subject, reply_to=reply_to, headers=headers or {}, attachments=attachments or [])
    message = EmailMessage(kind=kind, candidate_id=candidate_id, to=list(to), reply_to=reply_to, subject=subject,
                           text_body=text_body, html_body=html_body, headers=dict(headers or {}),
                           attachments=list(attachments or []), dedupe_key=dedupe_key, next_attempt_at=now,
                           created_at=now)
    session.add(message)
    session.flush()
    return message


def _check_email(*, to: list[str], subject: str, reply_to: str | None, headers: dict[str, str],
                 attachments: list[dict[str, str]]) -> None:
    if not to:
        raise ValueError("an email needs at least one recipient")
    for address in [*to, *([reply_to] if reply_to else [])]:
        _check_address(address)
    if _has_line_break(subject) or len(subject) > MAX_SUBJECT:
        raise ValueError(f"a subject is one line of at most {MAX_SUBJECT} characters")
    for name, value in headers.items():
        if not HEADER_NAME.match(name) or name.casefold() in RESERVED_HEADERS:
            raise ValueError(f"header {name!r} cannot be set by the caller")
        if not isinstance(value, str) or _has_line_break(value):
            raise ValueError(f"header {name!r} must be one line of text")
    for attachment in attachments:
        if set(attachment) != {"filename", "content_type", "content"}:
            raise ValueError("an attachment is {'filename', 'content_type', 'content'}")
        if not attachment["content_type"].startswith("text/"):
            raise ValueError("attachments are text only (the emails table stores them as text)")


def _check_address(address: str) -> None:
    # Line breaks would let a value add headers of its own (header injection).
    if _has_line_break(address) or "@" not in parseaddr(address)[1]:
        raise ValueError(f"{address!r} is not an email address")


def _has_line_break(value: str) -> bool:
    return "\r" in value or "\n" in value


def queue_welcome_email(session: Session, *, candidate: Candidate, position: Position, config: WorkspaceConfig,
                        settings: Settings, now: datetime, hiring_manager_name: str | None) -> EmailMessage | None:
    """The welcome email to a new hire (packet, handbook, first week), once per application.

    Returns None, and logs why, when the candidate has no email address.
    """
    if not candidate.email:
        logger.info("No welcome email for candidate %s: no email address on record", candidate.id)
        return None
    assert candidate.id is not None and position.id is not None
    application = queries.application_for(session, candidate_id=candidate.id, position_id=position.id)
    if application is None:
        raise LookupError(f"candidate {candidate.id} has no application for position {position.id}")
    onboarding = config.onboarding
    rendered = render_email(
        "emails/welcome", company_name=config.company_name, candidate_name=candidate.full_name,
        position_title=position.title, hiring_manager_name=hiring_manager_name, packet_url=onboarding.packet_url,
        handbook_url=onboarding.handbook_url, agenda=onboarding.first_week_agenda,
    )
    email = queue_email(session, kind="welcome", to=[candidate.email], subject=rendered.subject,
                        text_body=rendered.text, html_body=rendered.html, candidate_id=candidate.id,
                        dedupe_key=f"welcome:{application.id}", now=now)
    if not settings.smtp_url:
        logger.info("Welcome email %s is queued and waits until SMTP_URL is set", email.id)
    return email


def message_id_for(row_id: int, sender: str) -> str:
    # The sender's domain rather than this host's name: hosts come and go, the From domain stays. Short, so
    # that the header is never folded (some parsers keep the fold's space); random, so that two installations
    # sending from one domain never collide.
    domain = parseaddr(sender)[1].rpartition("@")[2] or FALLBACK_MESSAGE_ID_DOMAIN
    return f"<talentbot.{row_id}.{secrets.token_hex(6)}@{domain}>"


# The fast builder's policy: compat32 without folding, so that a long header (a List-Unsubscribe URL) stays one
# line (RFC 5322 allows 998 characters) rather than gaining a fold whose space some parsers keep.
_FAST_POLICY = compat32.clone(max_line_length=0)
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
MAX_LINE = 998


def build_message(row: EmailMessage, *, sender: str, message_id: str) -> Message:
    """The MIME message for a queued row: text, an HTML alternative when given, then attachments.

    Rows without attachments, to plain ASCII addresses (nearly all), take a builder five times cheaper than
    `email.policy.default`'s header parsing (issue 5's sending benchmark: it was a third of an email's CPU);
    the message it makes reads the same to a parser."""
    addresses = [sender, *row.to, *([row.reply_to] if row.reply_to else [])]
    # queue_email checks these, but a row written past it (an old release, a hand-made fix) must not add
    # headers of its own; the compat32 builder would write a line break through.
    if any(_has_line_break(value) for value in [row.subject, *addresses, *row.headers.values()]):
        raise ValueError("a header value contains a line break")
    if any(not HEADER_NAME.match(name) for name in row.headers):
        raise ValueError("a header name is not a field name")
    if not row.attachments and all(address.isascii() for _, address in getaddresses(addresses)):
        return _build_fast(row, sender=sender, message_id=message_id)
    return _build_full(row, sender=sender, message_id=message_id)


def _build_fast(row: EmailMessage, *, sender: str, message_id: str) -> Message:
    text = _text_part(row.text_body, "plain")
    message: Message = text if not row.html_body else MIMEMultipart(
        "alternative", None, [text, _text_part(row.html_body, "html")], policy=_FAST_POLICY)
    message["From"] = _fast_addresses(sender)
    message["To"] = _fast_addresses(", ".join(row.to))
    if row.reply_to:
        message["Reply-To"] = _fast_addresses(row.reply_to)
    message["Subject"] = _fast_header(row.subject)
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = message_id
    for name, value in row.headers.items():
        message[name] = _fast_header(value)
    return message


def _text_part(body: str, subtype: str) -> MIMEText:
    # 7bit when it can be; otherwise quoted-printable UTF-8, which keeps mostly-ASCII text readable.
    if body.isascii() and all(len(line) <= MAX_LINE for line in body.splitlines()):
        return MIMEText(body, subtype, "us-ascii", policy=_FAST_POLICY)
    return MIMEText(body, subtype, _UTF8_QP, policy=_FAST_POLICY)  # type: ignore[arg-type]


def _fast_header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _fast_addresses(value: str) -> str:
    # Display names outside ASCII become RFC 2047 encoded words; the addresses themselves are ASCII here.
    return ", ".join(formataddr(pair, charset="utf-8") for pair in getaddresses([value]))


def _build_full(row: EmailMessage, *, sender: str, message_id: str) -> MimeMessage:
    message = MimeMessage()
    message["From"] = sender
    message["To"] = ", ".join(row.to)
    if row.reply_to:
        message["Reply-To"] = row.reply_to
    message["Subject"] = row.subject
    # The time it was queued, which is when the message was complete; it stays the same on every retry.
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = message_id
    for name, value in row.headers.items():
        message[name] = value
    message.set_content(row.text_body)
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html")
    for attachment in row.attachments:
        _attach(message, attachment)
    return message


def _attach(message: MimeMessage, attachment: dict[str, Any]) -> None:
    content_type = MimeMessage()
    content_type["Content-Type"] = attachment["content_type"]
    params = {key: value for key, value in content_type.get_params(failobj=[])[1:] if key != "charset"}
    message.add_attachment(attachment["content"], subtype=content_type.get_content_subtype(),
                           filename=attachment["filename"], params=params)


# --- sending ----------------------------------------------------------------------------------------


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verifies the server's certificate and name. Loading the CA store takes a noticeable fraction of a
    second, so a delivery run builds it once for all its messages."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def open_smtp(target: SmtpTarget, *, context: ssl.SSLContext, timeout: float = SMTP_TIMEOUT) -> smtplib.SMTP:
    """A connection that is encrypted as SMTP_URL demands and logged in; the caller closes it."""
    if target.implicit_tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=timeout)
    try:
        if not target.implicit_tls:
            _start_tls(client, target, context)
        if target.username is not None:
            client.login(target.username, target.password or "")
    except BaseException:
        client.close()
        raise
    return client


def _start_tls(client: smtplib.SMTP, target: SmtpTarget, context: ssl.SSLContext) -> None:
    client.ehlo()
    if client.has_extn("starttls"):
        client.starttls(context=context)
        client.ehlo()
    elif target.username is not None:
        raise InsecureSmtpError(f"{target.host}:{target.port} offers no STARTTLS; "
                                "refusing to send the SMTP password in clear")


def close_smtp(client: smtplib.SMTP) -> None:
    # By now the server may have accepted the message; a failing QUIT must not turn into a retry (a duplicate).
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def classify_smtp_failure(error: Exception) -> tuple[str, str]:
    """("failed" | "retry", what to record). Only a 5xx refusal of recipients or message is final."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = {address: (code, _text(reply)) for address, (code, reply) in error.recipients.items()}
        final = all(500 <= code < 600 for code, _ in replies.values())
        detail = "; ".join(f"{address}: {code} {reply}" for address, (code, reply) in replies.items())
        return ("failed" if final else "retry"), f"recipients refused: {detail}"[:500]
    if isinstance(error, smtplib.SMTPDataError) and 500 <= error.smtp_code < 600:
        return "failed", f"message refused: {error.smtp_code} {_text(error.smtp_error)}"[:500]
    if isinstance(error, smtplib.SMTPResponseException):
        return "retry", f"{type(error).__name__}: {error.smtp_code} {_text(error.smtp_error)}"[:500]
    return "retry", f"{type(error).__name__}: {error}"[:500]


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class _ReusedConnection:
    """One SMTP connection for a delivery run's messages (issue 5's sending benchmark: opening a connection per
    message cost three times the message itself). smtplib resets the transaction (RSET) after a refused
    sender, recipients or message, so a refusal leaves the connection usable; a broken connection is dropped
    and the next message opens a new one."""

    def __init__(self, target: SmtpTarget, context: ssl.SSLContext, timeout: float):
        self._target = target
        self._context = context
        self._timeout = timeout
        self._client: smtplib.SMTP | None = None

    def send(self, message: Message, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        # No immediate second try on a fresh connection when this one broke: whether the server had taken the
        # message is unknown, so it waits for the back-off like any other unclear outcome.
        if self._client is None:
            self._client = open_smtp(self._target, context=self._context, timeout=self._timeout)
        try:
            return self._client.send_message(message, to_addrs=recipients)
        except (smtplib.SMTPServerDisconnected, OSError):
            self._drop()
            raise

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        if self._client is not None:
            close_smtp(self._client)
            self._client = None


class Mailer:
    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime], *,
                 timeout: float = SMTP_TIMEOUT):
        self._db = db
        self._settings = settings
        self._clock = clock
        self._timeout = timeout
        self._warned_unusable = False
        self._tls_context: ssl.SSLContext | None = None

    def _context(self) -> ssl.SSLContext:
        # Built once per Mailer: loading the CA store costs tens of milliseconds, once per run added up to
        # about a millisecond per email in the sending benchmark.
        if self._tls_context is None:
            self._tls_context = tls_context(self._settings.smtp_ca_file)
        return self._tls_context

    def deliver(self, email_ids: Iterable[int]) -> DeliveryReport:
        email_ids = list(email_ids)
        report = DeliveryReport()
        if not email_ids:
            return report
        target = self._target(waiting=len(email_ids))
        if target is None:
            report.waiting, report.waiting_for = len(email_ids), "SMTP_URL"
            return report
        connection = _ReusedConnection(target, self._context(), self._timeout)
        try:
            for start in range(0, len(email_ids), CLAIM_BATCH):
                for email_id, claimed in self._claim_batch(email_ids[start:start + CLAIM_BATCH]):
                    self._deliver_one(email_id, claimed, connection, report)
        finally:
            connection.close()
        return report

    def deliver_due(self, *, limit: int = 100) -> DeliveryReport:
        with self._db.read() as session:
            ids = queries.due_delivery_ids(session, EmailMessage, now=self._clock(), limit=limit)
        return self.deliver(ids)

    def _target(self, *, waiting: int) -> SmtpTarget | None:
        if not self._settings.smtp_url:
            self._warn_once(waiting, "SMTP_URL is not set")
            return None
        try:
            return parse_smtp_url(self._settings.smtp_url)
        except SmtpUrlError as error:
            self._warn_once(waiting, f"SMTP_URL {error}")
            return None

    def _warn_once(self, waiting: int, reason: str) -> None:
        # Once per process: the job runs every 30 s and `talentbot check` names the problem too.
        if not self._warned_unusable:
            self._warned_unusable = True
            logger.warning("%s; %s email(s) stay queued until it is fixed", reason, waiting)

    def _deliver_one(self, email_id: int, claimed: tuple[Message, list[str]] | Exception | None,
                     connection: _ReusedConnection, report: DeliveryReport) -> None:
        if isinstance(claimed, Exception):
            # A row that cannot become a message never will; it must not stop the rest of the batch.
            self._record(email_id, "failed", f"cannot build the message: {claimed}"[:500], report=report)
            return
        if claimed is None:
            report.skipped += 1
            return
        message, recipients = claimed
        try:
            refused = connection.send(message, recipients)
        except (smtplib.SMTPException, OSError) as error:
            self._record(email_id, *classify_smtp_failure(error), report=report)
            return
        # Some recipients refused while others accepted: the message is out, so it is not sent again.
        partial = "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in refused.items())
        self._record(email_id, "sent", f"recipients refused: {partial}"[:500] if partial else None, report=report)

    def _claim_batch(self, email_ids: list[int]
                     ) -> list[tuple[int, tuple[Message, list[str]] | Exception | None]]:
        """Claim the rows and build their messages in one transaction: per id, the message and its recipients,
        None when another sender holds the row or it is done, or the error that kept it from being built."""
        now = self._clock()
        with self._db.transaction() as session:
            held = [email_id for email_id in email_ids
                    if queries.claim_delivery(session, EmailMessage, email_id, now=now, until=now + CLAIM_FOR)]
            rows = {row.id: row for row in session.exec(select(EmailMessage).where(col(EmailMessage.id).in_(held)))}
            claimed: dict[int, tuple[Message, list[str]] | Exception] = {}
            for email_id in held:
                row = rows[email_id]
                # Chosen once, so that a retry after an unclear outcome carries the same Message-ID and
                # receivers can recognise the duplicate.
                row.message_id = row.message_id or message_id_for(email_id, self._settings.smtp_from)
                try:
                    message = build_message(row, sender=self._settings.smtp_from, message_id=row.message_id)
                    claimed[email_id] = (message, [parseaddr(address)[1] for address in row.to])
                except (ValueError, TypeError, KeyError) as error:
                    claimed[email_id] = error
        return [(email_id, claimed.get(email_id)) for email_id in email_ids]

    def _record(self, email_id: int, verdict: str, error: str | None, *, report: DeliveryReport) -> None:
        now = self._clock()
        if verdict == "sent":
            # The common case in one UPDATE, committed right after the server accepted the message: a crash
            # can then re-send at most the message in flight, under the same Message-ID.
            with self._db.transaction() as session:
                session.exec(update(EmailMessage).where(col(EmailMessage.id) == email_id)  # type: ignore[call-overload]
                             .values(attempts=col(EmailMessage.attempts) + 1, claimed_until=None, last_error=error,
                                     status=OutboxStatus.SENT, sent_at=now))
            report.sent += 1
            return
        with self._db.transaction() as session:
            row = session.get(EmailMessage, email_id)
            assert row is not None
            row.attempts += 1
            row.claimed_until = None
            row.last_error = error
            if verdict == "failed" or row.attempts >= MAX_ATTEMPTS:
                row.status = OutboxStatus.FAILED
                report.failed += 1
                logger.error("Email %s (%s) failed for good after %s attempt(s): %s",
                             email_id, row.kind, row.attempts, error)
                return
            row.next_attempt_at = now + backoff(row.attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)
            report.retrying += 1
            logger.warning("Email %s (%s) not sent (%s); retrying at %s",
                           email_id, row.kind, error, row.next_attempt_at.isoformat())


def retry_failed_email(session: Session, *, actor: Actor, email_id: int, now: datetime) -> bool:
    """An admin's "try again" on an email that failed for good (a refused address, a message the server
    rejected): queued again with a fresh count of attempts. False when it is not (or no longer) failed."""
    if not actor.is_admin:
        raise AccessDenied("Only admins can retry undelivered emails.")
    row = session.get(EmailMessage, email_id, with_for_update=True)
    if row is None or row.status != OutboxStatus.FAILED:
        return False
    row.status = OutboxStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.claimed_until = None
    session.add(row)
    return True
