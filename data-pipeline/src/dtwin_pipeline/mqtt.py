"""MQTT connection settings shared by the simulator and the bridge (mqtt://host:port, mqtts:// for TLS)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlparse


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
            host=u.hostname or "127.0.0.1", port=u.port or (8883 if tls else 1883), tls=tls,
            username=username or u.username, password=password or u.password,
        )

    def client_kwargs(self) -> dict[str, object]:
        kw: dict[str, object] = {"hostname": self.host, "port": self.port}
        if self.username:
            kw["username"] = self.username
            kw["password"] = self.password
        if self.tls:
            kw["tls_context"] = ssl.create_default_context()
        return kw
