"""The room's settings and wiring: DTWIN_NOTIFY_* validation, when the embedded SMTP sink is used, and a
process that only writes the outbox (DTWIN_NOTIFY_ENABLED=false)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dtwin.config import Settings
from dtwin.core.adapters import build_adapters
from dtwin.notifications.wiring import dispatch_config, start_notifications, uses_mail_sink


def test_the_lease_must_outlast_a_send(embedded_settings: Settings) -> None:
    with pytest.raises(ValidationError, match="notify_lease_s"):
        Settings(notify_send_timeout_s=30, notify_lease_s=30)
    with pytest.raises(ValidationError, match="notify_smtp_tls"):
        Settings(notify_smtp_tls="ssl")
    with pytest.raises(ValidationError, match="notify_digest_threshold"):
        Settings(notify_digest_threshold=0)
    assert dispatch_config(Settings(notify_max_attempts=3)).max_attempts == 3


def test_an_empty_smtp_host_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTWIN_NOTIFY_SMTP_HOST", "")
    monkeypatch.setenv("DTWIN_NOTIFY_SMTP_PASSWORD", "")
    settings = Settings()
    assert (settings.notify_smtp_host, settings.notify_smtp_password) == (None, None)


def test_the_mail_sink_is_for_embedded_mode_without_an_smtp_server(embedded_settings: Settings) -> None:
    assert uses_mail_sink(embedded_settings)
    assert not uses_mail_sink(embedded_settings.model_copy(update={"notify_smtp_host": "smtp.plant.example"}))
    assert not uses_mail_sink(embedded_settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:9092"}))
    assert not uses_mail_sink(
        embedded_settings.model_copy(update={"database_url": "postgresql+asyncpg://x@127.0.0.1/db"})
    )


async def test_a_process_may_only_write_the_outbox(embedded_settings: Settings, tmp_path: Path) -> None:
    settings = embedded_settings.model_copy(update={"notify_enabled": False, "data_dir": tmp_path})
    adapters = build_adapters(settings)
    try:
        outbox = await start_notifications(settings, adapters)
        assert outbox.on_enqueued is None
        assert not adapters.supervisor.running("notification-dispatcher")
        enabled = settings.model_copy(update={"notify_enabled": True})
        outbox = await start_notifications(enabled, adapters)
        assert outbox.on_enqueued is not None
        assert adapters.supervisor.running("notification-dispatcher")
    finally:
        await adapters.close()
