"""MQTT connection settings shared by the simulator and the bridge (mqtt://host:port, mqtts:// for TLS,
optional username/password, CA file and client certificate for mutual TLS)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import aiomqtt

if TYPE_CHECKING:
    from dtwin.kit.settings import SharedSettings


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
    ) -> MqttTarget:
        u = urlparse(url)
        if u.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"unsupported MQTT URL scheme {u.scheme!r} (use mqtt:// or mqtts://)")
        tls = u.scheme in ("mqtts", "ssl")
        return cls(
            host=u.hostname or "127.0.0.1",
            port=u.port or (8883 if tls else 1883),
            tls=tls,
            username=username or u.username,
            password=password or u.password,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
        )

    @classmethod
    def from_settings(cls, settings: SharedSettings, url: str | None = None) -> MqttTarget:
        """From the settings (DTWIN_MQTT_URL, _USERNAME, _PASSWORD, _CA_FILE, _CERT_FILE, _KEY_FILE)."""
        return cls.from_url(
            url or settings.mqtt_url,
            settings.mqtt_username,
            settings.mqtt_password,
            settings.mqtt_ca_file,
            settings.mqtt_cert_file,
            settings.mqtt_key_file,
        )

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        return ctx

    def client(
        self,
        *,
        identifier: str | None = None,
        clean_session: bool | None = None,
        max_queued_incoming: int = 0,
        max_queued_outgoing: int | None = None,
        max_inflight: int | None = None,
    ) -> aiomqtt.Client:
        """An (unconnected) aiomqtt client for this broker; use it with `async with`."""
        client = aiomqtt.Client(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            tls_context=self.tls_context(),
            identifier=identifier,
            clean_session=clean_session,
            max_queued_incoming_messages=max_queued_incoming,
            max_queued_outgoing_messages=max_queued_outgoing,
            max_inflight_messages=max_inflight,
        )
        # publishes of a whole batch run concurrently on purpose; aiomqtt warns above 10 pending calls
        client.pending_calls_threshold = max(10, max_inflight or 0, max_queued_outgoing or 0)
        return client
