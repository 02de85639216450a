"""Test helpers shared by the backend and data-pipeline suites (and the benchmark)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from dtwin.contracts.limits import MAX_WS_MESSAGE_BYTES
from dtwin_devkit.servers import free_port

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    timeout: float = 15.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll `check` until it returns a truthy value or raises nothing falsy; fail with its last state."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = await check()
            if result:
                return result
            last = result
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last: {last!r}")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Run an app under a real uvicorn server (HTTP + WebSocket) on a free port; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="websockets-sansio",
            ws_max_size=MAX_WS_MESSAGE_BYTES,
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn exited during startup")
            await asyncio.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def read_topic(bootstrap: str, topic: str, *, at_least: int, timeout: float = 20.0) -> list[object]:
    """Read a Kafka topic from the beginning (no consumer group) until `at_least` records arrived."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        parts: set[int] | None = None
        while not parts:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                await consumer._client.force_metadata_update()
                await asyncio.sleep(0.2)
                if time.monotonic() > deadline:
                    raise AssertionError(f"topic {topic} not found")
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[object] = []
        while len(records) < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"only {len(records)} of {at_least} records on {topic} within {timeout} s"
                )
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()
