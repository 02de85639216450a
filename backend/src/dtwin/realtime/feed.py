"""The change feed: one Redis pub/sub subscription per backend process. It keeps the process's FleetView
current and hands every change-stream message to the WebSocket hub, in `seq` order and without holes: a
message that arrives after a gap triggers a read of the missed ones from the capped change log, and when those
are gone the view reloads and every client gets a fresh snapshot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from dtwin.contracts import changes
from dtwin.contracts.changes import ChangeMessage
from dtwin.core.change_stream import ChangeStream
from dtwin.core.metrics import Metrics
from dtwin.twins.store import TwinStore
from dtwin.twins.view import FleetView

log = structlog.get_logger(__name__)

Listener = Callable[[ChangeMessage], None]


class ChangeFeed:
    def __init__(
        self,
        store: TwinStore,
        view: FleetView,
        listeners: list[Listener] | None = None,
        on_resync: Callable[[], None] | None = None,
        gap_limit: int = 2000,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.stream: ChangeStream = store.stream
        self.view = view
        self.listeners = listeners or []
        self.on_resync = on_resync
        self.gap_limit = gap_limit
        self.seq = -1  # last message handed on; -1 = never loaded
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        pubsub = self.store.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.stream.channel)
        try:
            # Subscribed first, then read: whatever is published meanwhile waits in the subscription and is
            # either already reflected in the load (seq <= loaded seq, skipped) or applied after it.
            if self.seq < 0:
                await self._reload()
            else:  # resubscribed after a lost connection: the view plus what the log has is current
                await self._fill(await self.stream.current_seq())
                self.view.ready.set()
            self.subscribed.set()
            log.info("change_feed_subscribed", seq=self.seq, twins=len(self.view.twins))
            async for raw in pubsub.listen():
                if raw.get("type") != "message":
                    continue
                try:
                    msg = changes.decode(raw["data"])
                except changes.ChangeDecodeError:
                    # a foreign or broken writer: skip it, the seq gap (if it had one) is filled from the log
                    log.exception("change_feed_undecodable", data=bytes(raw["data"][:200]))
                    continue
                seq = msg.seq
                if seq <= self.seq:
                    continue
                if seq > self.seq + 1:
                    await self._fill(seq - 1)
                self._deliver(msg)
        finally:
            # without the subscription the view goes stale: readers fall back to Redis until it is back
            self.view.invalidate()
            self.subscribed.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _reload(self) -> None:
        self.view.invalidate()
        seq = await self.stream.current_seq()
        self.view.load(await self.store.get_all(), seq)
        resync = self.seq >= 0
        self.seq = seq
        if resync and self.on_resync is not None:
            self.on_resync()

    async def _fill(self, upto: int) -> None:
        """Hand on the messages after self.seq up to `upto` from the change log, or reload when they are
        no longer retained."""
        if upto <= self.seq:
            return
        if self.metrics is not None:
            self.metrics.ws_gaps.inc()
        try:
            missed = await self.stream.after(self.seq, self.gap_limit)
        except changes.ChangeDecodeError:
            log.exception("change_feed_undecodable_log", after=self.seq)
            missed = None
        if missed is None:
            log.warning("change_feed_gap_reload", after=self.seq, upto=upto)
            await self._reload()
            return
        for msg in missed:
            if msg.seq > self.seq:
                self._deliver(msg)

    def _deliver(self, msg: ChangeMessage) -> None:
        self.seq = msg.seq
        for listener in self.listeners:  # the hub first: it reads placement of removed twins from the view
            try:
                listener(msg)
            except Exception:
                log.exception("change_listener_failed", seq=self.seq)
        self.view.apply(msg)
