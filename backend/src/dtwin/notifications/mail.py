"""The email channel: one message per delivery to the route's addresses through an SMTP server
(aiosmtplib), every attempt with the same `Message-ID` (derived from the idempotency key) and an
`X-Dtwin-Idempotency-Key` header, so a mailbox or filter can drop a repeat."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

import aiosmtplib

from dtwin.notifications import render
from dtwin.notifications.channels import Delivery, PermanentError, TransientError

Tls = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    tls: Tls = "starttls"
    timeout_s: float = 10.0


def message_id(key: str, sender: str) -> str:
    """`<hash of the idempotency key@sender's domain>`: the same for every attempt of one notification."""
    domain = sender.rpartition("@")[2] or "dtwin.localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def build_message(d: Delivery, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(d.targets)
    msg["Subject"] = render.subject(d)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(d.key, sender)
    msg["X-Dtwin-Idempotency-Key"] = d.key
    msg["X-Dtwin-Notification"] = str(d.id)
    msg.set_content(render.text(d))
    return msg


class EmailChannel:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, delivery: Delivery) -> None:
        c = self.config
        try:
            await aiosmtplib.send(
                build_message(delivery, c.sender),
                hostname=c.host,
                port=c.port,
                username=c.username,
                password=c.password,
                use_tls=c.tls == "tls",
                start_tls=c.tls == "starttls",
                timeout=c.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"SMTP refused the recipients: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.code} {exc.message}"
            raise (PermanentError(text) if 500 <= exc.code < 600 else TransientError(text)) from exc
        except aiosmtplib.SMTPException as exc:  # connect, timeout, TLS, server disconnected
            raise TransientError(f"SMTP {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        return None


class NoSmtpChannel:
    """Email without an SMTP server configured (real mode, DTWIN_NOTIFY_SMTP_HOST unset): every attempt
    fails saying so, until the row is dead (retry it once the server is set)."""

    async def send(self, delivery: Delivery) -> None:
        raise TransientError("no SMTP server configured (DTWIN_NOTIFY_SMTP_HOST)")

    async def aclose(self) -> None:
        return None
