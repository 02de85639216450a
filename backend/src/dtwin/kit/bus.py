"""The telemetry bus: a small interface with two adapters, Kafka (aiokafka) and an in-process MemoryBus, and
`build_bus(settings)`, the one place that picks between them (the backend, the CLI and the bridge use it).

Delivery contract for consumers: `getmany()` returns the next messages; `commit()` marks everything returned
so far as processed. A consumer that fails before `commit()` gets the same messages again (at-least-once).
`produce()` only enqueues (never waits for the broker per message) and returns the delivery future, done when
the broker acknowledged the message; `flush()` waits until everything produced so far is acknowledged and
raises if any of it failed. `in_process` says whether producers and consumers share this process (the
MemoryBus): an in-process feeder such as the demo's simulator can only publish into such a bus."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from dtwin.kit.failures import is_infrastructure

log = structlog.get_logger(__name__)

# a record `KafkaBus.read_all` writes to mark where a read ends (header value: the reading call's token)
READ_MARK = "dtwin-read-mark"
READ_MARK_KEY = b"\x00dtwin-read-mark"  # keyed (compacted topics refuse null keys); no machine id starts so


@dataclass(slots=True)
class BusMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)
    timestamp_ms: int | None = None


class BusConsumer(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def getmany(self, timeout_ms: int, max_records: int) -> list[BusMessage]: ...
    async def commit(self, offsets: dict[tuple[str, int], int] | None = None) -> None:
        """Commit what was consumed, or (`offsets`: {(topic, partition): next offset}) only that much."""
        ...

    async def lag(self) -> int: ...
    async def partition_lag(self) -> dict[int, int]:
        """Messages not yet consumed per assigned partition (the in-process bus: one partition, 0)."""
        ...


Record = tuple[bytes | None, bytes, dict[str, str] | None]  # key, value, headers


class BusSettings(Protocol):
    """What `build_bus` reads (SharedSettings has it, and so does the bridge's config)."""

    @property
    def kafka_bootstrap(self) -> str | None: ...
    @property
    def kafka_acks(self) -> str: ...
    @property
    def kafka_idempotence(self) -> bool: ...
    @property
    def kafka_linger_ms(self) -> int: ...


class TelemetryBus(Protocol):
    @property
    def in_process(self) -> bool: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def ensure_topics(self, topics: dict[str, int]) -> None: ...
    async def produce(
        self, topic: str, value: bytes, key: bytes | None = None, headers: dict[str, str] | None = None
    ) -> asyncio.Future[Any]: ...
    async def produce_many(self, topic: str, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        """Send `records` (key, value, headers) to `topic`, each keyed to its partition as `produce` would;
        one future per record (records sent in one batch share theirs)."""
        ...

    async def flush(self) -> None: ...
    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer: ...
    async def read_all(self, topic: str, timeout_s: float = 120.0) -> list[BusMessage]:
        """Every record of `topic` from the beginning, up to what it held when called."""
        ...


def build_bus(settings: BusSettings, *, client_id: str) -> TelemetryBus:
    """The bus these settings ask for: the in-process MemoryBus when no Kafka bootstrap is set (embedded
    mode), else KafkaBus with the settings' producer options, named `client_id` on the broker."""
    if settings.kafka_bootstrap is None:
        return MemoryBus()
    return KafkaBus(
        settings.kafka_bootstrap,
        acks=settings.kafka_acks,
        idempotence=settings.kafka_idempotence,
        linger_ms=settings.kafka_linger_ms,
        client_id=client_id,
    )


# ----------------------------------------------------------------------------------------------- memory
class MemoryBus:
    """In-process bus for embedded mode. Topics with a consumer apply backpressure (bounded queue);
    topics nobody consumes (the DLQ in embedded mode) keep the newest `retain` messages for inspection."""

    def __init__(self, maxsize: int = 50_000, retain: int = 10_000) -> None:
        self._maxsize = maxsize
        self._retain = retain
        self._queues: dict[str, asyncio.Queue[BusMessage]] = {}
        self._consumed: set[str] = set()
        self._offsets: dict[str, int] = {}

    @property
    def in_process(self) -> bool:
        return True

    def queue(self, topic: str) -> asyncio.Queue[BusMessage]:
        q = self._queues.get(topic)
        if q is None:
            q = self._queues[topic] = asyncio.Queue(self._maxsize)
        return q

    def retained(self, topic: str) -> list[BusMessage]:
        """Messages waiting in a topic (for tests and the embedded DLQ)."""
        q = self.queue(topic)
        return list(q._queue)  # type: ignore[attr-defined]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ensure_topics(self, topics: dict[str, int]) -> None:
        for t in topics:
            self.queue(t)

    async def produce(
        self, topic: str, value: bytes, key: bytes | None = None, headers: dict[str, str] | None = None
    ) -> asyncio.Future[Any]:
        offset = self._offsets.get(topic, 0)
        self._offsets[topic] = offset + 1
        msg = BusMessage(topic, 0, offset, key, value, headers or {})
        q = self.queue(topic)
        if topic in self._consumed:
            await q.put(msg)
        else:
            while q.full() or len(q._queue) >= self._retain:  # type: ignore[attr-defined]
                q.get_nowait()
            q.put_nowait(msg)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(offset)
        return done

    async def produce_many(self, topic: str, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        return [await self.produce(topic, value, key, headers) for key, value, headers in records]

    async def flush(self) -> None:
        return None

    async def read_all(self, topic: str, timeout_s: float = 120.0) -> list[BusMessage]:
        return self.retained(topic)

    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer:
        if len(topics) != 1:
            raise ValueError("MemoryBus consumers read one topic")
        self._consumed.add(topics[0])
        return _MemoryConsumer(self.queue(topics[0]))


class _MemoryConsumer:
    def __init__(self, queue: asyncio.Queue[BusMessage]) -> None:
        self._queue = queue

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def getmany(self, timeout_ms: int, max_records: int) -> list[BusMessage]:
        """Up to `max_records` messages, waiting up to `timeout_ms` for the first (0: what is there now)."""
        try:
            if timeout_ms <= 0:
                first = self._queue.get_nowait()
            else:
                first = await asyncio.wait_for(self._queue.get(), timeout_ms / 1000)
        except (TimeoutError, asyncio.QueueEmpty):
            return []
        out = [first]
        while len(out) < max_records:
            try:
                out.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return out

    async def commit(self, offsets: dict[tuple[str, int], int] | None = None) -> None:
        return None  # nothing is redelivered in process

    async def lag(self) -> int:
        return self._queue.qsize()

    async def partition_lag(self) -> dict[int, int]:
        return {0: self._queue.qsize()}


async def produce_or_refusal(
    bus: TelemetryBus,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> asyncio.Future[Any]:
    """`bus.produce`, with a record the client refuses at once (too large, invalid) returned as that record's
    failed delivery, so that it is handled like a refusal from the broker and does not take other records
    with it; an unavailable Kafka still raises."""
    try:
        return await bus.produce(topic, value, key, headers)
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        refused.set_exception(exc)
        return refused


# ------------------------------------------------------------------------------------------------ kafka
class KafkaBus:
    """aiokafka adapter. Sends are enqueued into aiokafka's batching accumulator; their futures are kept and
    checked in `flush()`, so a failed delivery is never silent."""

    def __init__(
        self,
        bootstrap: str,
        *,
        acks: str = "all",
        idempotence: bool = False,
        linger_ms: int = 5,
        client_id: str = "dtwin",
    ) -> None:
        self.bootstrap = bootstrap
        self._acks: int | str = "all" if acks == "all" else int(acks)
        self._idempotence = idempotence
        self._linger_ms = linger_ms
        self._client_id = client_id
        self._producer: Any = None
        self._pending: list[asyncio.Future[Any]] = []
        self._partitions: dict[str, tuple[list[int], dict[bytes, int]]] = {}  # topic: (ids, key -> id)

    @property
    def in_process(self) -> bool:
        return False

    async def start(self) -> None:
        from aiokafka import AIOKafkaProducer

        self._partitions.clear()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks=self._acks,
            enable_idempotence=self._idempotence,
            linger_ms=self._linger_ms,
            client_id=self._client_id,
            max_batch_size=256 * 1024,
            request_timeout_ms=30_000,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self.flush()
            await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, topics: dict[str, int]) -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=f"{self._client_id}-admin")
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            new = [
                NewTopic(t, num_partitions=p, replication_factor=1)
                for t, p in topics.items()
                if t not in existing
            ]
            if new:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new)
                log.info("kafka_topics_created", topics=[t.name for t in new])
        finally:
            await admin.close()

    async def produce(
        self, topic: str, value: bytes, key: bytes | None = None, headers: dict[str, str] | None = None
    ) -> asyncio.Future[Any]:
        hdrs = [(k, v.encode()) for k, v in headers.items()] if headers else None
        fut: asyncio.Future[Any] = await self._producer.send(topic, value=value, key=key, headers=hdrs)
        self._pending.append(fut)
        if len(self._pending) > 100_000:
            await self.flush()
        return fut

    async def produce_many(self, topic: str, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        """One record batch per partition (aiokafka's `create_batch`/`send_batch`: no future, no accumulator
        lookup per record), partitioned as `produce` partitions them (murmur2 of the key, the Java client's
        default, cached per key). A record that does not fit an empty batch goes alone through `produce`."""
        from aiokafka.partitioner import murmur2

        parts, cache = await self._partitioning(topic)
        by_partition: dict[int, list[int]] = {}
        for i, (key, _, _) in enumerate(records):
            if key is None:
                part = parts[i % len(parts)]
            else:
                part = cache.get(key, -1)
                if part < 0:
                    if len(cache) >= 1_000_000:
                        cache.clear()
                    part = cache[key] = parts[(murmur2(key) & 0x7FFFFFFF) % len(parts)]
            by_partition.setdefault(part, []).append(i)
        futures: list[asyncio.Future[Any] | None] = [None] * len(records)
        producer = self._producer
        for part, members in by_partition.items():
            batch, held = producer.create_batch(), []
            for i in members:
                key, value, headers = records[i]
                hdrs = [(k, v.encode()) for k, v in headers.items()] if headers else []
                if batch.append(key=key, value=value, timestamp=None, headers=hdrs) is not None:
                    held.append(i)
                    continue
                if held:  # full: send it, start the next with this record
                    await self._send_batch(batch, topic, part, held, futures)
                    batch, held = producer.create_batch(), []
                    if batch.append(key=key, value=value, timestamp=None, headers=hdrs) is not None:
                        held.append(i)
                        continue
                futures[i] = await produce_or_refusal(self, topic, value, key, headers)  # larger than a batch
            if held:
                await self._send_batch(batch, topic, part, held, futures)
        return futures  # type: ignore[return-value]  # every index was filled above

    async def _send_batch(
        self, batch: Any, topic: str, part: int, held: list[int], futures: list[asyncio.Future[Any] | None]
    ) -> None:
        fut: asyncio.Future[Any] = await self._producer.send_batch(batch, topic, partition=part)
        self._pending.append(fut)
        for i in held:
            futures[i] = fut

    async def _partitioning(self, topic: str) -> tuple[list[int], dict[bytes, int]]:
        parts = sorted(await self._producer.partitions_for(topic))
        known = self._partitions.get(topic)
        if known is None or known[0] != parts:
            known = self._partitions[topic] = (parts, {})
        return known

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        await self._producer.flush()
        for fut in pending:
            if fut.cancelled():  # abandoned by a producer that is stopping: not delivered (an infra failure)
                raise ConnectionError("a Kafka send was cancelled before it was delivered")
            fut.result()  # raises the delivery error, if any

    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer:
        return _KafkaConsumer(self.bootstrap, list(topics), group, self._client_id)

    async def read_all(self, topic: str, timeout_s: float = 120.0) -> list[BusMessage]:
        """Every record of `topic` from the beginning (no consumer group) up to what it held when called.
        Where that ends is marked, not guessed: a mark record (header `dtwin-read-mark`, a token of this
        call) goes to each partition first, and each partition is read until its mark comes back (end
        offsets are not trusted: Tansu's do not count records; waiting for a quiet topic never ends while
        it is written to). Marks, this call's and earlier ones, are not returned. TimeoutError after
        `timeout_s`."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            client_id=f"{self._client_id}-reader",
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        out: list[BusMessage] = []
        try:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
            if not parts:
                return out
            token = uuid.uuid4().hex.encode()
            marks = [
                await self._producer.send(
                    topic, value=b"", key=READ_MARK_KEY, partition=p, headers=[(READ_MARK, token)]
                )
                for p in sorted(parts)
            ]
            await asyncio.wait_for(asyncio.gather(*marks), timeout_s)
            tps = [TopicPartition(topic, p) for p in parts]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            waiting = set(parts)
            deadline = time.monotonic() + timeout_s
            while waiting:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{topic}: partitions {sorted(waiting)} not read to their mark")
                batch = await consumer.getmany(timeout_ms=250, max_records=10_000)
                for records in batch.values():
                    for r in records:
                        if r.partition not in waiting:
                            continue  # past its mark: newer than the call
                        headers = {k: v.decode("utf-8", "replace") for k, v in (r.headers or ())}
                        if READ_MARK in headers:
                            if headers[READ_MARK] == token.decode():
                                waiting.discard(r.partition)
                            continue
                        out.append(
                            BusMessage(r.topic, r.partition, r.offset, r.key, r.value, headers, r.timestamp)
                        )
            return out
        finally:
            await consumer.stop()


class _KafkaConsumer:
    def __init__(self, bootstrap: str, topics: list[str], group: str, client_id: str) -> None:
        from aiokafka import AIOKafkaConsumer

        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            # a fetch may be held by the broker for up to fetch_max_wait_ms when a partition is idle (Tansu
            # does this even while other partitions have data): 500 ms by default put ~150 ms on p50 latency
            fetch_max_wait_ms=100,
            retry_backoff_ms=20,
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def getmany(self, timeout_ms: int, max_records: int) -> list[BusMessage]:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        out: list[BusMessage] = []
        for records in batches.values():
            for r in records:
                headers = {k: v.decode("utf-8", "replace") for k, v in (r.headers or ())}
                out.append(BusMessage(r.topic, r.partition, r.offset, r.key, r.value, headers, r.timestamp))
        return out

    async def commit(self, offsets: dict[tuple[str, int], int] | None = None) -> None:
        if offsets is None:
            await self._consumer.commit()
            return
        from aiokafka.structs import TopicPartition

        await self._consumer.commit({TopicPartition(t, p): o for (t, p), o in offsets.items()})

    async def lag(self) -> int:
        """Messages in assigned partitions not yet consumed (last known high watermark - position)."""
        return sum((await self.partition_lag()).values())

    async def partition_lag(self) -> dict[int, int]:
        """Per assigned partition of the subscribed topics: last known high watermark - position (a
        partition not fetched yet is left out)."""
        out: dict[int, int] = {}
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is not None:
                out[tp.partition] = out.get(tp.partition, 0) + max(
                    0, high - await self._consumer.position(tp)
                )
        return out
