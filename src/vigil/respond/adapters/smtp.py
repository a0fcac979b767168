"""Email notices over SMTP (smtplib), with optional STARTTLS and login.

Failures before the message is handed over (connection refused, greeting, TLS,
login, a 4xx reply) are transient; a 5xx reply (recipient or sender refused) is
permanent; losing the connection or timing out while the message is sent is
ambiguous, and since an email must not be sent twice, it is not retried.

The Message-ID is derived from the execution key, so a receiving system can
tell a duplicate; the key and the incident are also in `X-Vigil-Key` and
`X-Vigil-Incident`.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate

from vigil.respond.backends import Notice
from vigil.respond.errors import AmbiguousError, PermanentError, TransientError

PERMANENT_FROM = 500


def compose(notice: Notice, key: str, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The email of a notice: plain text, facts as `Name: value` lines."""
    message = EmailMessage()
    message["Subject"] = f"[Vigil {notice.severity}] {notice.title}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rpartition("@")[2] or "vigil.invalid"
    message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    message["X-Vigil-Key"] = key
    if notice.incident_id:
        message["X-Vigil-Incident"] = notice.incident_id
    lines = [notice.text, ""]
    lines += [f"{fact.name}: {fact.value}" for fact in notice.facts]
    lines.append(f"Severity: {notice.severity}")
    if notice.link:
        lines += ["", notice.link]
    message.set_content("\n".join(lines) + "\n")
    return message


class SmtpNotifier:
    """Sends each notice to a fixed list of recipients through one SMTP server."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = list(recipients)
        self.starttls = starttls
        self._login = (
            (username, password) if username is not None and password is not None else None
        )
        self._tls = tls_context

    def send(self, notice: Notice, key: str, limit: float) -> str:
        message = compose(notice, key, self.sender, self.recipients)
        where = f"SMTP {self.host}:{self.port}"
        try:
            client = smtplib.SMTP(self.host, self.port, timeout=limit)
        except (OSError, smtplib.SMTPException) as error:
            raise TransientError(f"{where}: cannot connect ({type(error).__name__})") from None
        with client:
            try:
                self._prepare(client)
            except smtplib.SMTPResponseException as error:
                raise _by_code(where, error) from None
            except (OSError, smtplib.SMTPException) as error:
                raise TransientError(f"{where}: {type(error).__name__} before sending") from None
            try:
                refused = client.send_message(message, self.sender, self.recipients)
            except smtplib.SMTPRecipientsRefused as error:
                raise PermanentError(
                    f"{where}: every recipient refused: {sorted(error.recipients)}"
                ) from None
            except smtplib.SMTPResponseException as error:
                raise _by_code(where, error) from None
            except (OSError, smtplib.SMTPException) as error:
                raise AmbiguousError(f"{where}: {type(error).__name__} while sending") from None
        accepted = len(self.recipients) - len(refused)
        note = f"; refused: {', '.join(sorted(refused))}" if refused else ""
        return f"{where} accepted it for {accepted} recipient(s){note}"

    def _prepare(self, client: smtplib.SMTP) -> None:
        client.ehlo()
        if self.starttls:
            client.starttls(context=self._tls or ssl.create_default_context())
            client.ehlo()
        if self._login is not None:
            client.login(*self._login)


def _by_code(where: str, error: smtplib.SMTPResponseException) -> TransientError | PermanentError:
    text = (
        error.smtp_error.decode("utf-8", "replace")
        if isinstance(error.smtp_error, bytes)
        else str(error.smtp_error)
    )
    message = f"{where}: {error.smtp_code} {text}"
    if error.smtp_code >= PERMANENT_FROM:
        return PermanentError(message)
    return TransientError(message)
