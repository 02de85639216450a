"""WebSocket fan-out: each backend process subscribes once to the Redis updates channel and hands every
message to its connected clients. Each client has a bounded queue; a client that lets it fill is dropped
with a close reason instead of slowing the others or growing memory."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import structlog

log = structlog.get_logger(__name__)

CLOSE_SLOW = 4008  # application close code: the client did not keep up


@dataclass(eq=False)
class Client:
    queue: asyncio.Queue[str | None]
    dropped: bool = False
    sent: int = 0

    def offer(self, text: str) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)  # sentinel: close the socket


@dataclass
class Hub:
    redis: aioredis.Redis
    channel: str
    queue_size: int = 256
    clients: set[Client] = field(default_factory=set)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    delivered: int = 0

    def register(self) -> Client:
        client = Client(asyncio.Queue(self.queue_size + 1))
        self.clients.add(client)
        return client

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)

    async def run(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
        self.subscribed.set()
        log.info("hub_subscribed", channel=self.channel)
        try:
            async for msg in pubsub.listen():
                if msg.get("type") != "message":
                    continue
                data = msg["data"]
                text = data.decode() if isinstance(data, bytes) else str(data)
                for client in list(self.clients):
                    client.offer(text)
                self.delivered += 1
        finally:
            self.subscribed.clear()
            await pubsub.aclose()  # type: ignore[no-untyped-call]
