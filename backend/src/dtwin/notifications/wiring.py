"""The notifications room, assembled for one backend process: its channels, the dispatcher (a supervised
lifespan task), the embedded mode's SMTP sink, and the outbox the alarms room writes to. `main` calls
`start_notifications` once and keeps the outbox on `app.state.notice_outbox`."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import structlog

from dtwin.config import Settings
from dtwin.core.adapters import Adapters
from dtwin.notifications.channels import Channel
from dtwin.notifications.dispatcher import DispatchConfig, Dispatcher
from dtwin.notifications.mail import EmailChannel, NoSmtpChannel, SmtpConfig, Tls
from dtwin.notifications.routing import Clock, utcnow
from dtwin.notifications.service import NotificationOutbox
from dtwin.notifications.sink import MailSink
from dtwin.notifications.webhook import SmsChannel, WebhookChannel

log = structlog.get_logger(__name__)


def dispatch_config(settings: Settings) -> DispatchConfig:
    return DispatchConfig(
        poll_interval_s=settings.notify_poll_interval_s,
        max_attempts=settings.notify_max_attempts,
        send_timeout_s=settings.notify_send_timeout_s,
        lease_s=settings.notify_lease_s,
        backoff_initial_s=settings.notify_backoff_initial_s,
        backoff_max_s=settings.notify_backoff_max_s,
        digest_threshold=settings.notify_digest_threshold,
        digest_window_s=settings.notify_digest_window_s,
        concurrency=settings.notify_concurrency,
    )


def smtp_config(settings: Settings, host: str, port: int, tls: Tls | None = None) -> SmtpConfig:
    password = settings.notify_smtp_password
    return SmtpConfig(
        host=host,
        port=port,
        sender=settings.notify_smtp_from,
        username=settings.notify_smtp_user,
        password=password.get_secret_value() if password is not None else None,
        tls=tls or cast(Tls, settings.notify_smtp_tls),
        timeout_s=settings.notify_send_timeout_s,
    )


def mail_dir(settings: Settings) -> Path:
    return settings.data_dir / "mail"


def uses_mail_sink(settings: Settings) -> bool:
    """Embedded mode (no Kafka, Redis or PostgreSQL) without an SMTP server configured."""
    return (
        settings.notify_smtp_host is None
        and settings.embedded_bus
        and settings.embedded_redis
        and settings.database_url.startswith("sqlite")
    )


async def build_channels(settings: Settings, adapters: Adapters) -> dict[str, Channel]:
    """email (the configured SMTP server; in embedded mode without one, the sink started here), webhook
    and sms."""
    email: Channel
    if settings.notify_smtp_host is not None:
        email = EmailChannel(smtp_config(settings, settings.notify_smtp_host, settings.notify_smtp_port))
    elif uses_mail_sink(settings):
        sink = await MailSink(mail_dir(settings)).start()
        adapters.on_close.append(sink.close)
        email = EmailChannel(smtp_config(settings, sink.host, sink.port, tls="none"))
    else:
        log.warning("notifications_email_unconfigured", setting="DTWIN_NOTIFY_SMTP_HOST")
        email = NoSmtpChannel()
    timeout = settings.notify_send_timeout_s
    return {"email": email, "webhook": WebhookChannel(timeout), "sms": SmsChannel(timeout)}


async def start_notifications(
    settings: Settings, adapters: Adapters, clock: Clock = utcnow
) -> NotificationOutbox:
    """Build the channels and the dispatcher, start it (unless DTWIN_NOTIFY_ENABLED=false: then this
    process only writes the outbox, other processes deliver), and return the outbox for the alarms room."""
    if not settings.notify_enabled:
        log.info("notifications_ready", dispatcher=False)
        return NotificationOutbox(clock)
    channels = await build_channels(settings, adapters)
    dispatcher = Dispatcher(adapters.sessions, channels, dispatch_config(settings), clock)
    adapters.supervisor.start("notification-dispatcher", dispatcher.run)
    log.info("notifications_ready", dispatcher=True, channels=sorted(channels))
    return NotificationOutbox(clock, on_enqueued=dispatcher.wake)
