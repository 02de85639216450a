"""The simulator's MQTT edge: paho-mqtt with its own network thread. aiomqtt awaits every PUBACK on the event
loop (~4.4k msgs/s per connection measured here); paho keeps a window of QoS 1 messages in flight from its
thread (~15k msgs/s measured, best with ~100 in flight). Publishing is bounded: past `max_outstanding`
unacknowledged messages the publishing thread waits instead of growing paho's queue."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import paho.mqtt.client as paho
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from dtwin.contracts.topics import parse_mqtt_topic
from dtwin_pipeline.mqtt import MqttTarget
from dtwin_pipeline.simulator.sinks import SimStats

log = structlog.get_logger(__name__)
# what paho answers for a QoS 1 message it keeps: sent, or queued while disconnected (sent on reconnect)
QUEUED = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)


class PahoMqtt:
    """One MQTT connection: QoS 1 publishing from any thread, optional subscription whose messages land in
    `incoming` (an asyncio queue of (topic, payload)). paho reconnects by itself; in-flight QoS 1 messages
    are re-sent after a reconnect, and the subscription is renewed, so the broker hands over the retained
    desired state again (a device that reconnects gets it like a live message). `accept` (called on paho's
    thread) keeps only the topics it approves out of what arrives: a shared subscription to every device's
    desired topic receives the retained documents of the whole plant on each (re)connect."""

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        client_id: str | None = None,
        subscribe: str | None = None,
        max_inflight: int = 100,
        max_outstanding: int = 5000,
        incoming: asyncio.Queue[tuple[str, bytes]] | None = None,
        accept: Callable[[str], bool] | None = None,
    ) -> None:
        self.accept = accept
        self.target = MqttTarget.from_url(url, username, password)
        self.subscribe_filter = subscribe
        self.max_outstanding = max_outstanding
        self.incoming: asyncio.Queue[tuple[str, bytes]] = incoming or asyncio.Queue(maxsize=10_000)
        self.published = 0
        self.acked = 0
        self.dropped_incoming = 0
        self._loop = asyncio.get_running_loop()
        self._count_lock = threading.Lock()
        self._acked_cond = threading.Condition()
        self._connected = threading.Event()
        self._closing = False
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"dtwin-sim-{uuid.uuid4().hex[:10]}"
        )
        client.max_inflight_messages_set(max_inflight)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, 30)
        if self.target.username:
            client.username_pw_set(self.target.username, self.target.password)
        if self.target.tls:
            client.tls_set_context(ssl.create_default_context())
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self.client = client

    # paho callbacks run on paho's network thread
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("simulator_mqtt_refused", reason=str(reason))
            return
        if self.subscribe_filter:
            client.subscribe(self.subscribe_filter, qos=1)
        self._connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        if not self._closing:
            log.warning("simulator_mqtt_disconnected", reason=str(reason))

    def _on_publish(self, client: Any, userdata: Any, packet_id: int, reason: Any, props: Any) -> None:
        self.acked += 1  # only this thread writes it
        if self.published - self.acked < self.max_outstanding // 2:
            with self._acked_cond:
                self._acked_cond.notify_all()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        if self.accept is not None and not self.accept(msg.topic):
            return
        self._loop.call_soon_threadsafe(self._enqueue, msg.topic, bytes(msg.payload))

    def _enqueue(self, topic: str, payload: bytes) -> None:
        try:
            self.incoming.put_nowait((topic, payload))
        except asyncio.QueueFull:
            self.dropped_incoming += 1
            placed = parse_mqtt_topic(topic)
            log.warning(
                "simulator_command_dropped",
                machine_id=placed[2] if placed else None,
                mqtt_topic=topic[:200],
                reason="command queue full",
            )

    @property
    def outstanding(self) -> int:
        return self.published - self.acked

    async def connect(self, log_every_s: float = 5.0) -> None:
        """Start the network thread and wait until the broker accepted the connection."""
        self.client.connect_async(self.target.host, self.target.port, keepalive=30)
        self.client.loop_start()
        while not await asyncio.to_thread(self._connected.wait, log_every_s):
            log.warning("simulator_mqtt_waiting", host=self.target.host, port=self.target.port)

    def publish_many(self, items: Sequence[tuple[str, bytes]]) -> int:
        """QoS 1 publish of every item, waiting while too many are unacknowledged (blocking: run it in a
        thread). Returns how many paho refused to queue (never sent, logged); one published while the
        connection is down is queued and sent after the reconnect, not refused."""
        publish = self.client.publish
        refused = 0
        for topic, payload in items:
            if self.published - self.acked >= self.max_outstanding:
                with self._acked_cond:
                    while self.published - self.acked >= self.max_outstanding:
                        self._acked_cond.wait(0.05)
            with self._count_lock:
                self.published += 1
            if publish(topic, payload, qos=1).rc not in QUEUED:
                refused += 1
        if refused:
            with self._count_lock:
                self.published -= refused  # no PUBACK will come for them
            log.warning("simulator_mqtt_publish_refused", messages=refused)
        return refused

    async def publish(self, topic: str, payload: bytes) -> None:
        await asyncio.to_thread(self.publish_many, [(topic, payload)])

    def _wait_acked(self, within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        with self._acked_cond:
            while self.outstanding > 0 and time.monotonic() < deadline:
                self._acked_cond.wait(0.02)
        return self.outstanding <= 0

    async def drain(self, within_s: float = 30.0) -> bool:
        """Wait until every published message was acknowledged (at most `within_s`); True if all were."""
        return await asyncio.to_thread(self._wait_acked, within_s)

    async def close(self, within_s: float = 30.0) -> None:
        """Wait for outstanding PUBACKs, then disconnect and stop the network thread."""
        if not await self.drain(within_s):
            log.warning("simulator_mqtt_unacknowledged", outstanding=self.outstanding)
        self._closing = True
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)


class DeviceConnections:
    """One MQTT connection per machine, logged in with that machine's own credentials (username = machine
    id), as real devices connect: each publishes only its own telemetry and acks and subscribes only to its
    own desired topic, which is all the broker's ACL lets it do. Same surface as `PahoMqtt` for the sink and
    the command channel. Each connection has its own paho network thread: meant for small fleets (tests,
    `make dev`); a large load test uses one shared connection (docs/operations.md, "Device identity")."""

    def __init__(
        self,
        url: str,
        credentials: Mapping[str, str],
        machines: Sequence[tuple[str, str]],
        *,
        commands: bool = True,
        max_outstanding: int = 1000,
    ) -> None:
        """`machines`: (machine id, its desired topic); every one needs an entry in `credentials`."""
        missing = [m for m, _ in machines if m not in credentials]
        if missing:
            raise ValueError(
                f"no MQTT credentials for {len(missing)} machine(s) ({', '.join(missing[:5])}, ...): "
                "provision them with `dtwin devices provision ... --credentials-out FILE`"
            )
        self.incoming: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=10_000)
        self.clients = {
            machine_id: PahoMqtt(
                url,
                machine_id,
                credentials[machine_id],
                client_id=machine_id,
                subscribe=desired if commands else None,
                max_outstanding=max_outstanding,
                incoming=self.incoming,
            )
            for machine_id, desired in machines
        }

    @property
    def outstanding(self) -> int:
        return sum(c.outstanding for c in self.clients.values())

    async def connect(self, log_every_s: float = 5.0) -> None:
        await asyncio.gather(*(c.connect(log_every_s) for c in self.clients.values()))

    def publish_many(self, items: Sequence[tuple[str, bytes]]) -> int:
        """Each item through its machine's own connection (the machine id is the topic's 4th level); returns
        how many were refused."""
        by_machine: dict[str, list[tuple[str, bytes]]] = {}
        for topic, payload in items:
            by_machine.setdefault(topic.split("/")[3], []).append((topic, payload))
        return sum(self.clients[machine_id].publish_many(mine) for machine_id, mine in by_machine.items())

    async def publish(self, topic: str, payload: bytes) -> None:
        await asyncio.to_thread(self.publish_many, [(topic, payload)])

    async def drain(self, within_s: float = 30.0) -> bool:
        done = await asyncio.gather(*(c.drain(within_s) for c in self.clients.values()))
        return all(done)

    async def close(self, within_s: float = 30.0) -> None:
        await asyncio.gather(*(c.close(within_s) for c in self.clients.values()))


class MqttSink:
    """Publishes each message to plant/{site}/{line}/{machine_id}/telemetry with QoS 1 from a worker
    thread; messages the client refused count as errors in `stats`."""

    def __init__(self, mqtt: PahoMqtt | DeviceConnections, stats: SimStats | None = None) -> None:
        self.mqtt = mqtt
        self.stats = stats

    async def send(self, batch: Sequence[Any]) -> None:
        items = [(o.machine.topic(), o.payload) for o in batch]
        refused = await asyncio.to_thread(self.mqtt.publish_many, items)
        if refused and self.stats is not None:
            self.stats.errors += refused
