"""A report by email: one message to the definition's recipients with the PDF and CSV attached, sent over
SMTP directly (aiosmtplib, the DTWIN_NOTIFY_SMTP_* server). The notification outbox carries alarm notices
(contracts/alarms.py) without attachments, so reports do not go through it (docs/decisions.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from dtwin.notifications.mail import SmtpConfig

MIME = {"pdf": ("application", "pdf"), "csv": ("text", "csv")}


def build_message(
    sender: str, recipients: Sequence[str], subject: str, body: str, files: Mapping[str, bytes], stem: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "dtwin.localhost")
    msg.set_content(body)
    for fmt, data in sorted(files.items()):
        maintype, subtype = MIME[fmt]
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=f"{stem}.{fmt}")
    return msg


class ReportMailer:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, msg: EmailMessage) -> None:
        """Send; aiosmtplib.SMTPException (or OSError) when the server cannot be reached or refuses."""
        c = self.config
        await aiosmtplib.send(
            msg,
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password,
            use_tls=c.tls == "tls",
            start_tls=c.tls == "starttls",
            timeout=c.timeout_s,
        )
