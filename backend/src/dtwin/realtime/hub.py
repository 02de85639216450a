"""WebSocket fan-out. The process's ChangeFeed hands every change-stream message to `Hub.dispatch`, which
gives each connected client the items its subscriptions ask for: at once, or coalesced to the latest value
per machine and sent at most `max_rate_hz` times a second. Every client has a bounded send queue; one that
lets it fill is dropped with a close reason instead of slowing the others or growing memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog

from dtwin.realtime.series import LiveSeries
from dtwin.twins.view import FleetView

log = structlog.get_logger(__name__)

CLOSE_SLOW = 4008  # application close code: the client did not keep up
CLOSE_LIFETIME = 4000  # maximum connection lifetime reached: reconnect and resume
STREAMS = ("twins", "alerts", "decisions", "series")


@dataclass(frozen=True)
class StreamFilter:
    machine_ids: frozenset[str] | None = None
    machine_type: str | None = None
    site: str | None = None
    line: str | None = None

    @property
    def empty(self) -> bool:
        return (
            self.machine_ids is None and self.machine_type is None and self.site is None and self.line is None
        )

    def matches(self, machine_id: str, meta: Callable[[], dict[str, Any] | None]) -> bool:
        if self.machine_ids is not None and machine_id not in self.machine_ids:
            return False
        if self.machine_type is None and self.site is None and self.line is None:
            return True
        twin = meta() or {}
        return (
            (self.machine_type is None or twin.get("machine_type") == self.machine_type)
            and (self.site is None or twin.get("site") == self.site)
            and (self.line is None or twin.get("line") == self.line)
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.machine_ids is not None:
            out["machine_ids"] = sorted(self.machine_ids)
        for f in ("machine_type", "site", "line"):
            if getattr(self, f) is not None:
                out[f] = getattr(self, f)
        return out


def item_machine(stream: str, item: dict[str, Any]) -> str:
    return str(item["id"] if stream == "twins" else item["machine_id"])


WHOLE_KINDS = ("twin", "removed")
ALWAYS = ("kind", "id", "version")


def project(item: dict[str, Any], fields: frozenset[str]) -> dict[str, Any] | None:
    """A twin change with only `fields` (and `kind`, `id`, `version`); None when a partial change carries none
    of them. Whole twins and removals pass unchanged, so a client always has whole twins to merge into."""
    if item.get("kind") in WHOLE_KINDS:
        return item
    out = {k: v for k, v in item.items() if k in fields}
    if not out:
        return None
    for k in ALWAYS:
        if k in item:
            out[k] = item[k]
    return out


def coalesce(pending: dict[tuple[str, str], dict[str, Any]], stream: str, item: dict[str, Any]) -> None:
    """Merge `item` into the pending changes of a rate-capped subscription: one entry per machine and kind
    (a whole twin or a removal supersedes that machine's older entries); later values win, readings and
    reported settings merge per key. Bounded by machines x kinds, whatever the update rate."""
    machine_id = item_machine(stream, item)
    if stream != "twins":
        pending[(machine_id, "")] = item  # alerts/decisions: the latest per machine
        return
    kind = str(item.get("kind"))
    if kind in ("twin", "removed"):
        for k in [k for k in pending if k[0] == machine_id]:
            del pending[k]
        pending[(machine_id, kind)] = item
        return
    key = (machine_id, kind)
    old = pending.get(key)
    if old is None or kind != "reported":
        pending[key] = item
        return
    merged = {**old, **item}
    for member in ("readings", "reported"):
        if member in old or member in item:
            merged[member] = {**old.get(member, {}), **item.get(member, {})}
    pending[key] = merged


@dataclass(eq=False)
class Subscription:
    sub: str
    stream: str
    filter: StreamFilter
    max_rate_hz: float | None
    fields: frozenset[str] | None = None  # members of partial twin changes sent (None: all)
    seq: int = 0  # the newest seq sent (or covered by the snapshot)
    pending: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pending_seq: int = 0
    next_at: float = 0.0
    held: list[dict[str, Any]] | None = None  # messages arriving while the snapshot/replay is prepared
    series: LiveSeries | None = None  # a chart stream: new readings of one machine, reduced per pixel column

    @property
    def listens_to(self) -> str:
        """The change-stream message type this subscription reads (a chart stream reads twin changes)."""
        return "twins" if self.series is not None else self.stream

    @property
    def has_pending(self) -> bool:
        return bool(self.series.pending) if self.series is not None else bool(self.pending)


@dataclass(eq=False)
class Client:
    queue: asyncio.Queue[str | None]
    view: FleetView
    subs: dict[str, Subscription] = field(default_factory=dict)
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    resync: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    sent: int = 0

    def offer(self, text: str) -> None:
        if self.dropped.is_set():
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped.set()
            while not self.queue.empty():
                self.queue.get_nowait()

    def send(self, message: dict[str, Any]) -> None:
        self.offer(orjson.dumps(message).decode())

    def deliver(self, msg: dict[str, Any], cache: dict[Any, str]) -> None:
        stream = msg.get("type")
        for s in self.subs.values():
            if s.listens_to != stream:
                continue
            if s.held is not None:
                s.held.append(msg)
                continue
            self.deliver_to(s, msg, cache)

    def deliver_to(
        self, s: Subscription, msg: dict[str, Any], cache: dict[Any, str] | None, replay: bool = False
    ) -> None:
        seq = int(msg["seq"])
        if seq <= s.seq:
            return
        items: list[dict[str, Any]] = msg["items"]
        if s.series is not None:
            for i in items:
                s.series.add_change(i)
            if not s.series.pending:
                s.seq = seq
                return
            s.pending_seq = seq
            self.flush_when_due(s)
            return
        if s.max_rate_hz is None or replay:
            if cache is not None and s.filter.empty:
                # Unfiltered clients with the same projection of a message share its items' serialisation
                # ("" when nothing is left to send).
                key = (id(msg), s.fields)
                body = cache.get(key)
                if body is None:
                    selected = self.select(s, items)
                    body = cache[key] = orjson.dumps(selected).decode() if selected else ""
            else:
                selected = self.select(s, items)
                body = orjson.dumps(selected).decode() if selected else ""
            if not body:
                return
            s.seq = seq
            self.offer(
                f'{{"type":"update","sub":{orjson.dumps(s.sub).decode()},"seq":{seq},'
                f'"replay":{"true" if replay else "false"},"items":{body}}}'
            )
            return
        items = self.select(s, items)
        if not items:
            return
        for i in items:
            coalesce(s.pending, s.stream, i)
        s.pending_seq = seq
        self.flush_when_due(s)

    def flush_when_due(self, s: Subscription) -> None:
        """Send what is pending now if the rate cap allows (or there is none), else to the flusher."""
        if s.max_rate_hz is None or time.monotonic() >= s.next_at:
            self.flush(s)
        else:
            self.wake.set()

    def select(self, s: Subscription, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of a message this subscription gets: filtered, then projected to its `fields`."""
        if not s.filter.empty:
            items = [i for i in items if self.wants(s, i)]
        if s.fields is not None:
            fields = s.fields
            items = [p for i in items if (p := project(i, fields)) is not None]
        return items

    def wants(self, s: Subscription, item: dict[str, Any]) -> bool:
        machine_id = item_machine(s.stream, item)
        return s.filter.matches(machine_id, lambda: _meta(self.view, machine_id, item))

    def flush(self, s: Subscription) -> None:
        if not s.has_pending:
            return
        if s.series is not None:
            items = s.series.drain()
        else:
            items = list(s.pending.values())
            s.pending = {}
        s.seq = s.pending_seq
        s.next_at = time.monotonic() + 1.0 / (s.max_rate_hz or 1.0)
        self.send({"type": "update", "sub": s.sub, "seq": s.seq, "replay": False, "items": items})

    async def run_flusher(self) -> None:
        """Sends the coalesced changes of rate-capped subscriptions when each is due."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            while waiting := [s for s in self.subs.values() if s.has_pending and s.held is None]:
                now = time.monotonic()
                for s in waiting:
                    if now >= s.next_at:
                        self.flush(s)
                due = [s.next_at for s in waiting if s.has_pending]

                if not due:
                    break
                await asyncio.sleep(max(0.0, min(due) - time.monotonic()))


def _meta(view: FleetView, machine_id: str, item: dict[str, Any]) -> dict[str, Any] | None:
    if "machine_type" in item and "site" in item:
        return item
    twin = view.get(machine_id)
    if twin is None:
        return item
    return twin


@dataclass
class Hub:
    view: FleetView
    queue_size: int = 256
    clients: set[Client] = field(default_factory=set)

    def register(self) -> Client:
        client = Client(asyncio.Queue(self.queue_size), self.view)
        self.clients.add(client)
        return client

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)

    def dispatch(self, msg: dict[str, Any]) -> None:
        cache: dict[Any, str] = {}
        for client in list(self.clients):
            client.deliver(msg, cache)

    def resync(self) -> None:
        """The feed lost messages it could not recover: every client's twins subscriptions get a fresh
        snapshot (the connection handler watches `resync`)."""
        for client in list(self.clients):
            client.resync.set()
