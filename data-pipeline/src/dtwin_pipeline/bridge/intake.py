"""The bridge's MQTT intake: a QoS 1 MQTT 5 subscriber on asyncio's protocol API, for the one hot path of
the bridge (telemetry and acks in). Why not aiomqtt here (it stays for publishing commands): measured on
this machine, aiomqtt's message iterator costs ~160 CPU-µs per message and paho driven from asyncio ~50
(it reads each fixed header a byte at a time and writes every PUBACK on its own), against a budget of ~60 µs
for the whole bridge at 15,000 messages/s; this reader parses every packet of a read in one pass and writes
all PUBACKs due in one loop pass with one write (~3 µs per message). docs/decisions.md has the figures.

What it speaks (MQTT 5.0, OASIS standard): CONNECT (persistent session: clean start off, a session expiry
interval; username/password; keep alive; Receive Maximum, the broker's bound on unacknowledged QoS 1
messages to us), SUBSCRIBE (QoS 1, shared subscriptions), PUBLISH in at QoS 0 and 1 (user properties are
read: a device's `traceparent`), PUBACK out, PINGREQ/PINGRESP, DISCONNECT. TLS through asyncio's transport.
Not spoken: QoS 2 in (we subscribe at QoS 1, so the broker never sends it), publishing, topic aliases (we do
not allow the broker any), AUTH (enhanced authentication).

Acknowledgements: `done(packet_id)` marks a message stored downstream; PUBACKs go out in the order the
messages arrived (MQTT 5 §4.6), so a message finished early waits for the ones before it."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dtwin_pipeline.mqtt import MqttTarget

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14
PROP_USER, PROP_SESSION_EXPIRY, PROP_RECEIVE_MAXIMUM, PROP_SERVER_KEEP_ALIVE = 0x26, 0x11, 0x21, 0x13
PROP_REASON_STRING, PROP_ASSIGNED_CLIENT_ID = 0x1F, 0x12
MAX_PACKET = 268_435_455  # the largest remaining length MQTT can encode

# property identifier -> how its value is encoded (MQTT 5 §2.2.2.2)
_BYTE, _TWO, _FOUR, _VARINT, _STRING, _BINARY, _PAIR = range(7)
_PROPERTY_KIND = {
    0x01: _BYTE, 0x02: _FOUR, 0x03: _STRING, 0x08: _STRING, 0x09: _BINARY, 0x0B: _VARINT, 0x11: _FOUR,
    0x12: _STRING, 0x13: _TWO, 0x15: _STRING, 0x16: _BINARY, 0x17: _BYTE, 0x18: _FOUR, 0x19: _BYTE,
    0x1A: _STRING, 0x1C: _STRING, 0x1F: _STRING, 0x21: _TWO, 0x22: _TWO, 0x23: _TWO, 0x24: _BYTE,
    0x25: _BYTE, 0x26: _PAIR, 0x27: _FOUR, 0x28: _BYTE, 0x29: _BYTE, 0x2A: _BYTE,
}  # fmt: skip


class IntakeError(Exception):
    """The connection failed or the broker refused something (connect, subscribe); reconnect."""


class ProtocolViolation(IntakeError):
    """The broker sent something MQTT 5 does not allow."""


@dataclass(slots=True)
class Incoming:
    topic: str
    payload: bytes
    packet_id: int | None  # None: QoS 0, nothing to acknowledge
    user_properties: list[tuple[str, str]] | None = None


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_string(s: str) -> bytes:
    """An MQTT UTF-8 string: two bytes of length, then the bytes."""
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def _packet(kind: int, flags: int, body: bytes) -> bytes:
    return bytes([kind << 4 | flags]) + varint(len(body)) + body


def connect_packet(
    client_id: str,
    *,
    username: str | None,
    password: str | None,
    keepalive: int,
    clean_start: bool,
    session_expiry: int,
    receive_maximum: int,
) -> bytes:
    flags = (0x80 if username else 0) | (0x40 if password else 0) | (0x02 if clean_start else 0)
    props = (
        bytes([PROP_SESSION_EXPIRY])
        + session_expiry.to_bytes(4, "big")
        + bytes([PROP_RECEIVE_MAXIMUM])
        + receive_maximum.to_bytes(2, "big")
    )
    body = mqtt_string("MQTT") + bytes([5, flags]) + keepalive.to_bytes(2, "big") + varint(len(props)) + props
    body += mqtt_string(client_id)
    if username:
        body += mqtt_string(username)
    if password:
        body += mqtt_string(password)
    return _packet(CONNECT, 0, body)


def subscribe_packet(packet_id: int, filters: list[str], qos: int = 1) -> bytes:
    body = packet_id.to_bytes(2, "big") + b"\x00"  # no properties
    for f in filters:
        body += mqtt_string(f) + bytes([qos])  # options: max QoS, no-local off, retain-as-published off
    return _packet(SUBSCRIBE, 0x02, body)


def puback(packet_id: int) -> bytes:
    """PUBACK with reason Success, in the short form MQTT 5 allows (§3.4.2.1)."""
    return b"\x40\x02" + packet_id.to_bytes(2, "big")


PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"


def read_varint(buf: bytes | bytearray | memoryview, at: int) -> tuple[int, int] | None:
    """(value, position after it), or None when `buf` ends before it does. Raises on a 5-byte varint."""
    value, shift = 0, 0
    for i in range(4):
        if at + i >= len(buf):
            return None
        b = buf[at + i]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, at + i + 1
        shift += 7
    raise ProtocolViolation("malformed variable byte integer")


def parse_properties(data: bytes | memoryview) -> dict[int, object]:
    """A property block's values by identifier (user properties as a list of pairs)."""
    out: dict[int, object] = {}
    i, end = 0, len(data)
    while i < end:
        ident = data[i]
        i += 1
        kind = _PROPERTY_KIND.get(ident)
        if kind is None:
            raise ProtocolViolation(f"unknown property 0x{ident:02x}")
        value: object
        if kind == _BYTE:
            value, i = data[i], i + 1
        elif kind == _TWO:
            value, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        elif kind == _FOUR:
            value, i = int.from_bytes(data[i : i + 4], "big"), i + 4
        elif kind == _VARINT:
            got = read_varint(data, i)
            if got is None:
                raise ProtocolViolation("truncated property")
            value, i = got
        elif kind == _PAIR:
            pair = []
            for _ in range(2):
                n = int.from_bytes(data[i : i + 2], "big")
                pair.append(bytes(data[i + 2 : i + 2 + n]).decode("utf-8", "replace"))
                i += 2 + n
            pairs = out.setdefault(ident, [])
            assert isinstance(pairs, list)
            pairs.append((pair[0], pair[1]))
            continue
        else:  # string or binary
            n = int.from_bytes(data[i : i + 2], "big")
            raw = bytes(data[i + 2 : i + 2 + n])
            value, i = (raw.decode("utf-8", "replace") if kind == _STRING else raw), i + 2 + n
        out[ident] = value
    if i != end:
        raise ProtocolViolation("truncated property block")
    return out


class _Protocol(asyncio.Protocol):
    def __init__(self, intake: MqttIntake) -> None:
        self.intake = intake

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.intake._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.intake._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.intake._lost(exc)


class MqttIntake:
    """One connection. `on_messages` is called once per read with every message it completed (in arrival
    order); call `done(packet_id)` for each once it is stored. `closed` resolves when the connection ends."""

    def __init__(
        self,
        on_messages: Callable[[list[Incoming]], None],
        *,
        receive_maximum: int = 1000,
    ) -> None:
        self.on_messages = on_messages
        self.receive_maximum = receive_maximum
        self._transport: asyncio.WriteTransport | None = None
        self._buf = bytearray()
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._waiting: dict[int, asyncio.Future[bytes]] = {}  # CONNACK (key 0) / SUBACK by packet id
        self._order: deque[int] = deque()  # QoS 1 packet ids not yet acknowledged, in arrival order
        self._open: set[int] = set()  # the same ids, for membership
        self._finished: set[int] = set()  # of those, the ones stored but waiting for an earlier one
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._pinger: asyncio.Task[None] | None = None
        self._pong = True
        self.session_present = False
        self.keepalive = 0

    @property
    def unacknowledged(self) -> int:
        return len(self._order)

    # ----------------------------------------------------------------------------------------- session
    async def connect(
        self,
        target: MqttTarget,
        client_id: str,
        *,
        keepalive: int = 30,
        clean_start: bool = False,
        session_expiry: int = 7 * 86400,
        within_s: float = 15.0,
    ) -> None:
        ctx = target.tls_context()
        try:
            await asyncio.wait_for(
                self._loop.create_connection(
                    lambda: _Protocol(self),
                    target.host,
                    target.port,
                    ssl=ctx,
                    server_hostname=target.host if ctx else None,
                ),
                within_s,
            )
        except (OSError, TimeoutError) as exc:
            raise IntakeError(f"cannot connect to {target.host}:{target.port}: {exc}") from exc
        waiter = self._waiting[0] = self._loop.create_future()
        self._write(
            connect_packet(
                client_id,
                username=target.username,
                password=target.password,
                keepalive=keepalive,
                clean_start=clean_start,
                session_expiry=session_expiry,
                receive_maximum=self.receive_maximum,
            )
        )
        body = await self._answer(waiter, within_s, "CONNACK")
        self.session_present = bool(body[0] & 1)
        reason = body[1]
        got = read_varint(body, 2)
        props = parse_properties(memoryview(body)[got[1] : got[1] + got[0]]) if got else {}
        if reason >= 0x80:
            self.close()
            detail = props.get(PROP_REASON_STRING) or CONNACK_REASONS.get(reason, "refused")
            raise IntakeError(f"the broker refused the connection: 0x{reason:02x} {detail}")
        server_keepalive = props.get(PROP_SERVER_KEEP_ALIVE)
        self.keepalive = int(server_keepalive) if isinstance(server_keepalive, int) else keepalive
        if self.keepalive:
            self._pinger = self._loop.create_task(self._ping_forever(), name="mqtt-intake-ping")

    async def subscribe(self, filters: list[str], *, packet_id: int = 1, within_s: float = 15.0) -> None:
        waiter = self._waiting[packet_id] = self._loop.create_future()
        self._write(subscribe_packet(packet_id, filters))
        body = await self._answer(waiter, within_s, "SUBACK")
        got = read_varint(body, 2)
        if got is None:
            raise ProtocolViolation("truncated SUBACK")
        codes = body[got[1] + got[0] :]
        refused = [(f, c) for f, c in zip(filters, codes, strict=False) if c >= 0x80]
        if refused or len(codes) != len(filters):
            self.close()
            raise IntakeError(f"the broker refused the subscription(s): {refused or codes.hex()}")

    async def _answer(self, waiter: asyncio.Future[bytes], within_s: float, what: str) -> bytes:
        both: set[asyncio.Future[Any]] = {waiter, self.closed}
        done, _ = await asyncio.wait(both, timeout=within_s, return_when="FIRST_COMPLETED")
        if waiter in done and not waiter.cancelled():  # cancelled: the connection was lost (_lost)
            return waiter.result()
        self.close()
        if self.closed.done() and self.closed.exception() is not None:
            raise IntakeError(f"connection lost before {what}: {self.closed.exception()}")
        raise IntakeError(f"no {what} within {within_s:g} s")

    async def _ping_forever(self) -> None:
        """PINGREQ every half keep-alive interval; no PINGRESP by the next one: the connection is dead."""
        interval = self.keepalive / 2
        while not self.closed.done():
            await asyncio.sleep(interval)
            if not self._pong:
                self._fail(IntakeError(f"no PINGRESP within {interval:g} s"))
                return
            self._pong = False
            self._write(PINGREQ_PACKET)

    async def disconnect(self, within_s: float = 2.0) -> None:
        """A normal DISCONNECT (the session stays, with what is unacknowledged), after the PUBACKs due; then
        wait for the broker to close the connection: closing at once lets a reconnect under the same client
        id take the session over before the broker read those PUBACKs (duplicates, not loss)."""
        if self._transport is not None and not self._transport.is_closing():
            self._flush()
            self._transport.write(DISCONNECT_PACKET)
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self.closed), within_s)
        self.close()

    def close(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
        if self._transport is not None:
            self._transport.close()

    # ------------------------------------------------------------------------------------------ acks
    def done(self, packet_id: int) -> None:
        """The message `packet_id` is stored: acknowledge it once every message before it is. An id this
        connection does not wait for (already acknowledged, or of an earlier connection) is ignored: the
        broker reuses ids once acknowledged, and a stale mark would acknowledge a new message unstored."""
        if packet_id not in self._open:
            return
        order = self._order
        if order[0] != packet_id:
            self._finished.add(packet_id)
            return
        finished, opened, out = self._finished, self._open, self._out
        order.popleft()
        opened.discard(packet_id)
        out.append(puback(packet_id))
        while order and order[0] in finished:
            pid = order.popleft()
            finished.discard(pid)
            opened.discard(pid)
            out.append(puback(pid))
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._out:
            out, self._out = self._out, []
            self._write(b"".join(out))

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    # ---------------------------------------------------------------------------------------- reading
    def _received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos, end = 0, len(buf)
        batch: list[Incoming] = []
        try:
            while end - pos >= 2:
                first = buf[pos]
                got = read_varint(buf, pos + 1)
                if got is None:
                    break
                length, start = got
                stop = start + length
                if stop > end:
                    break
                kind = first >> 4
                if kind == PUBLISH:  # a copy: nothing may hold a view of `buf`, which is resized below
                    batch.append(self._publish(first, bytes(buf[start:stop])))
                elif kind == PINGRESP:
                    self._pong = True
                elif kind in (CONNACK, SUBACK):
                    key = 0 if kind == CONNACK else int.from_bytes(buf[start : start + 2], "big")
                    waiter = self._waiting.pop(key, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(bytes(buf[start:stop]))
                elif kind == DISCONNECT:
                    reason = buf[start] if length else 0
                    raise IntakeError(f"the broker disconnected us: 0x{reason:02x}")
                else:
                    raise ProtocolViolation(f"unexpected packet type {kind}")
                pos = stop
        except (IntakeError, IndexError, ValueError) as exc:  # IndexError, ValueError: a malformed packet
            self._fail(exc if isinstance(exc, IntakeError) else ProtocolViolation(f"malformed packet: {exc}"))
            return
        finally:
            del buf[:pos]
            if batch:
                self.on_messages(batch)

    def _publish(self, first: int, body: bytes) -> Incoming:
        qos = (first >> 1) & 3
        n = int.from_bytes(body[0:2], "big")
        topic = body[2 : 2 + n].decode("utf-8", "replace")
        i = 2 + n
        packet_id = None
        if qos:
            if qos == 2:
                raise ProtocolViolation("QoS 2 PUBLISH on a QoS 1 subscription")
            packet_id = int.from_bytes(body[i : i + 2], "big")
            i += 2
            if packet_id not in self._open:  # else a repeat of one in flight: one PUBACK answers both
                self._order.append(packet_id)
                self._open.add(packet_id)
        got = read_varint(body, i)
        if got is None:
            raise ProtocolViolation("truncated PUBLISH")
        plen, i = got
        user: list[tuple[str, str]] | None = None
        if plen:
            props = parse_properties(body[i : i + plen])
            pairs = props.get(PROP_USER)
            user = pairs if isinstance(pairs, list) else None
            i += plen
        return Incoming(topic, body[i:], packet_id, user)

    def _fail(self, exc: Exception) -> None:
        if not self.closed.done():
            self.closed.set_exception(exc)
        self.close()

    def _lost(self, exc: Exception | None) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.cancel()
        if not self.closed.done():
            if exc is None:
                self.closed.set_result(None)
            else:
                self.closed.set_exception(IntakeError(f"connection lost: {exc}"))
        self._buf.clear()


CONNACK_REASONS = {
    0x80: "unspecified error",
    0x84: "unsupported protocol version",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x88: "server unavailable",
    0x89: "server busy",
    0x8A: "banned",
    0x8C: "bad authentication method",
    0x95: "packet too large",
    0x97: "quota exceeded",
    0x9F: "connection rate exceeded",
}
