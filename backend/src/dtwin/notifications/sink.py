"""The embedded mode's SMTP server: aiosmtpd on this process's event loop, on a free loopback port,
writing each message it receives as an .eml file into a directory (`<data dir>/mail`). With it, `make
demo` delivers email notifications without any mail account: open the files with any mail program.
Only embedded mode starts it (wiring.py); aiosmtpd is imported only then."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class _WriteEml:
    """aiosmtpd handler: every accepted message becomes `<UTC time>-<n>.eml` in the directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._seq = itertools.count(1)

    def _write(self, name: str, content: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(content)
        tmp.replace(path)  # a reader never sees half a message
        return path

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{next(self._seq)}.eml"
        path = await asyncio.to_thread(self._write, name, content)
        log.info("mail_sink_received", file=str(path), to=list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on 127.0.0.1 (a free port unless given) writing .eml files into `directory`."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = directory
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> MailSink:
        from aiosmtpd.smtp import SMTP

        handler = _WriteEml(self.directory)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="dtwin-mail-sink", loop=loop), self.host, self.port
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("mail_sink_started", host=self.host, port=self.port, directory=str(self.directory))
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
