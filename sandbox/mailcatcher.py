"""The sandbox's SMTP server on loopback: it keeps every email the bot sends, for the page's Outbox panel."""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

HOST = "127.0.0.1"
# aiosmtpd logs every connection at INFO; the Outbox panel is where people look.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass(frozen=True)
class CaughtEmail:
    sender: str
    recipients: list[str]
    subject: str
    text: str
    html: str | None
    attachments: list[str]
    received_at: datetime

    def as_page(self) -> dict[str, Any]:
        return {"from": self.sender, "to": self.recipients, "subject": self.subject, "text": self.text,
                "html": self.html, "attachments": self.attachments, "received_at": self.received_at.isoformat()}


def _parse(envelope: Envelope) -> CaughtEmail:
    message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    attachments = [part.get_filename() or part.get_content_type() for part in message.iter_attachments()]
    return CaughtEmail(
        sender=str(message.get("From") or envelope.mail_from), recipients=list(envelope.rcpt_tos),
        subject=str(message.get("Subject") or ""),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else None,
        attachments=[str(a) for a in attachments], received_at=datetime.now(UTC),
    )


class MailCatcher:
    """aiosmtpd on a free loopback port; `smtp_url` is what the bot's SMTP_URL points at."""

    def __init__(self) -> None:
        self.emails: list[CaughtEmail] = []
        self._lock = threading.Lock()
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(self, hostname=HOST, port=self.port)

    @property
    def smtp_url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd)
        email = _parse(envelope)
        with self._lock:
            self.emails.append(email)
        return "250 OK"

    def snapshot(self) -> list[CaughtEmail]:
        with self._lock:
            return list(self.emails)
