"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the tests of bot/mail.py.

    with SmtpServer() as server:                                # plain SMTP, no AUTH (a local relay)
    with SmtpServer(tls=self_signed_certificate(tmp_path),      # STARTTLS, and AUTH only after it
                    credentials=("bot", "p@ss")) as server:
    server.fail_next(451, times=2)       # the next two messages get "451 …" after DATA
    server.fail_next(550, stage="rcpt")  # the next message's recipients get "550 …"
    server.stop(); server.start()        # refuse connections for a while, then return on the same port

Failures count per message (per MAIL FROM), whatever the number of recipients.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
FAILURE_TEXT = {451: "4.3.0 Try again later", 421: "4.7.0 Service not available", 550: "5.1.1 No such mailbox",
                554: "5.7.1 Message refused"}


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def self_signed_certificate(directory: Path) -> TlsFiles:
    """A certificate for 127.0.0.1 and localhost; clients trust it by naming `cert` as their CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "talentbot test SMTP")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        # Strict verification (Python 3.13's default context) wants both key identifiers.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(directory / "smtp-cert.pem", directory / "smtp-key.pem")
    files.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return files


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ReceivedEmail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None

    def part(self, subtype: Literal["plain", "html"]) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part in {self.message.get_content_type()}"
        # SMTP carries CRLF; compare text as a mail client shows it.
        return str(body.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


@dataclass
class _Failure:
    code: int
    stage: Literal["rcpt", "data"]


@dataclass
class _Handler:
    received: list[ReceivedEmail] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The failure chosen at MAIL FROM, by envelope, so that it applies to one whole message.
    current: dict[int, _Failure] = field(default_factory=dict)
    # aiosmtpd marks a session as TLS only after STARTTLS, not on a TLS listener (smtps).
    implicit_tls: bool = False

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        with self.lock:
            if self.failures:
                self.current[id(envelope)] = self.failures.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        failure = self.current.get(id(envelope))
        if failure and failure.stage == "rcpt":
            return _reply(failure.code)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        failure = self.current.pop(id(envelope), None)
        if failure and failure.stage == "data":
            return _reply(failure.code)
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        with self.lock:
            self.received.append(ReceivedEmail(str(envelope.mail_from), list(envelope.rcpt_tos), parsed,
                                               tls=self.implicit_tls or session.ssl is not None, login=login))
        return "250 2.0.0 Message accepted for delivery"


def _reply(code: int) -> str:
    return f"{code} {FAILURE_TEXT.get(code, 'Refused by the test server')}"


class SmtpServer:
    def __init__(self, *, tls: TlsFiles | None = None, implicit_tls: bool = False,
                 credentials: tuple[str, str] | None = None, auth_require_tls: bool = True):
        self.port = free_port()
        self.credentials = credentials
        self.implicit_tls = implicit_tls
        self._handler = _Handler(implicit_tls=implicit_tls)
        self._tls = tls
        self._auth_require_tls = auth_require_tls
        self._controller: Controller | None = None

    # --- lifecycle ---

    def start(self) -> SmtpServer:
        self._controller = Controller(self._handler, hostname=HOST, port=self.port, **self._controller_options())
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _controller_options(self) -> dict[str, Any]:
        # A fixed server name: aiosmtpd would otherwise look up this host's FQDN, which can stall on DNS.
        options: dict[str, Any] = {"server_hostname": "smtp.test", "ident": "talentbot test SMTP"}
        if self._tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self._tls.cert, self._tls.key)
            options["ssl_context" if self.implicit_tls else "tls_context"] = context
        if self.credentials is not None:
            # On a TLS listener aiosmtpd would still wait for STARTTLS before offering AUTH.
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_require_tls=self._auth_require_tls and not self.implicit_tls)
        return options

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword) and self.credentials is not None
        login, password = auth_data.login.decode(), auth_data.password.decode()
        with self._handler.lock:
            self._handler.logins.append(login)
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=(login, password) == self.credentials, handled=False, auth_data=auth_data.login)

    # --- what the tests use ---

    def url(self, *, scheme: str = "smtp", userinfo: str | None = None) -> str:
        """SMTP_URL for this server; `userinfo` is written as given (already URL-encoded)."""
        return f"{scheme}://{userinfo + '@' if userinfo else ''}{HOST}:{self.port}"

    @property
    def received(self) -> list[ReceivedEmail]:
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def logins(self) -> list[str]:
        """Every AUTH attempt's user name, successful or not."""
        with self._handler.lock:
            return list(self._handler.logins)

    def fail_next(self, code: int, *, times: int = 1, stage: Literal["rcpt", "data"] = "data") -> None:
        with self._handler.lock:
            self._handler.failures.extend(_Failure(code, stage) for _ in range(times))

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[ReceivedEmail]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} message(s), received {len(self.received)}")
            time.sleep(0.02)
        return self.received
