"""MQTT connection settings shared by the simulator and the bridge (mqtt://host:port, mqtts:// for TLS)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlparse

import aiomqtt


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str, username: str | None = None, password: str | None = None) -> MqttTarget:
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
        )

    def client(
        self,
        *,
        identifier: str | None = None,
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
            tls_context=ssl.create_default_context() if self.tls else None,
            identifier=identifier,
            max_queued_incoming_messages=max_queued_incoming,
            max_queued_outgoing_messages=max_queued_outgoing,
            max_inflight_messages=max_inflight,
        )
        # we publish a whole tick concurrently on purpose; aiomqtt warns above 10 pending calls
        client.pending_calls_threshold = max(10, max_inflight or 0, max_queued_outgoing or 0)
        return client
