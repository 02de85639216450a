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

import msgspec
import orjson
import structlog

from dtwin.contracts import changes
from dtwin.contracts.changes import (
    PARTIAL_MEMBERS,
    AlarmChange,
    AnomalyEventChange,
    ChangeMessage,
    DecisionChange,
    ReportedChange,
    TwinChange,
    WholeTwinChange,
)
from dtwin.core.metrics import Metrics
from dtwin.kit.tracing import DISABLED, TRACEPARENT, Tracing, as_parent, remote_context
from dtwin.realtime.series import LiveSeries
from dtwin.twins.view import FleetView

Item = TwinChange | AnomalyEventChange | DecisionChange | AlarmChange
EVENTS = (AnomalyEventChange, DecisionChange, AlarmChange)  # stream items that are not twin changes
# what a subscription sends: a stream item, or a partial twin change projected to its `fields`
Sent = Item | dict[str, Any]

log = structlog.get_logger(__name__)

CLOSE_SLOW = 4008  # application close code: the client did not keep up
CLOSE_LIFETIME = 4000  # maximum connection lifetime reached: reconnect and resume
STREAMS = ("twins", "alerts", "decisions", "alarms", "series")


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


ALWAYS = ("kind", "id", "version")


def project(change: TwinChange, fields: frozenset[str]) -> Sent | None:
    """A partial twin change with only `fields` (and `kind`, `id`, `version`), in its wire form; None when it
    carries none of them. Whole twins and removals pass unchanged, so a client always has whole twins to merge
    into."""
    if change.kind not in PARTIAL_MEMBERS:
        return change
    wire: dict[str, Any] = msgspec.to_builtins(change)
    out = {k: v for k, v in wire.items() if k in fields}
    if not out:
        return None
    for k in ALWAYS:
        if k in wire:
            out[k] = wire[k]
    return out


def merge_pending(pending: dict[tuple[str, str], Item], item: Item) -> None:
    """Merge `item` into the pending changes of a rate-capped subscription: one entry per machine and kind
    (a whole twin or a removal supersedes that machine's older entries); later values win, readings and
    reported settings merge per key. Bounded by machines x kinds, whatever the update rate."""
    machine_id = changes.machine_of(item)
    if isinstance(item, AlarmChange):
        pending[(machine_id, f"alarm:{item.id}")] = item  # alarms: the latest state of each
        return
    if isinstance(item, AnomalyEventChange | DecisionChange):
        pending[(machine_id, "")] = item  # alerts/decisions: the latest per machine
        return
    kind = item.kind
    if kind in ("twin", "removed"):
        for k in [k for k in pending if k[0] == machine_id]:
            del pending[k]
        pending[(machine_id, kind)] = item
        return
    key = (machine_id, kind)
    old = pending.get(key)
    if not (isinstance(old, ReportedChange) and isinstance(item, ReportedChange)):
        pending[key] = item
        return
    pending[key] = msgspec.structs.replace(
        item,
        machine_type=item.machine_type if item.machine_type is not None else old.machine_type,
        site=item.site if item.site is not None else old.site,
        line=item.line if item.line is not None else old.line,
        readings={**old.readings, **item.readings},
        reported={**old.reported, **item.reported},
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> str:
    """JSON text of a server message (stream items are msgspec structs, the rest plain values)."""
    return orjson.dumps(value, default=_json_default).decode()


@dataclass(eq=False)
class Subscription:
    sub: str
    stream: str
    filter: StreamFilter
    max_rate_hz: float | None
    fields: frozenset[str] | None = None  # members of partial twin changes sent (None: all)
    seq: int = 0  # the newest seq sent (or covered by the snapshot)
    pending: dict[tuple[str, str], Item] = field(default_factory=dict)
    pending_seq: int = 0
    next_at: float = 0.0
    held: list[ChangeMessage] | None = None  # messages arriving while the snapshot/replay is prepared
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
        self.offer(dumps(message))

    def deliver(self, msg: ChangeMessage, cache: dict[Any, str]) -> None:
        stream = msg.type
        for s in self.subs.values():
            if s.listens_to != stream:
                continue
            if s.held is not None:
                s.held.append(msg)
                continue
            self.deliver_to(s, msg, cache)

    def deliver_to(
        self, s: Subscription, msg: ChangeMessage, cache: dict[Any, str] | None, replay: bool = False
    ) -> None:
        seq = msg.seq
        if seq <= s.seq:
            return
        items: list[Item] = list(msg.items)
        if s.series is not None:
            for i in items:
                if isinstance(i, ReportedChange | WholeTwinChange):
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
                    selected = self.project(s, self.filtered(s, items))
                    body = cache[key] = changes.encode(selected).decode() if selected else ""
            else:
                selected = self.project(s, self.filtered(s, items))
                body = changes.encode(selected).decode() if selected else ""
            if not body:
                return
            s.seq = seq
            self.offer(
                f'{{"type":"update","sub":{orjson.dumps(s.sub).decode()},"seq":{seq},'
                f'"replay":{"true" if replay else "false"},"items":{body}}}'
            )
            return
        items = self.filtered(s, items)
        if not items:
            return
        for i in items:
            merge_pending(s.pending, i)
        s.pending_seq = seq
        self.flush_when_due(s)

    def flush_when_due(self, s: Subscription) -> None:
        """Send what is pending now if the rate cap allows (or there is none), else to the flusher."""
        if s.max_rate_hz is None or time.monotonic() >= s.next_at:
            self.flush(s)
        else:
            self.wake.set()

    def filtered(self, s: Subscription, items: list[Item]) -> list[Item]:
        """The items of a message this subscription's filter lets through."""
        if s.filter.empty:
            return items
        return [i for i in items if self.wants(s, i)]

    @staticmethod
    def project(s: Subscription, items: list[Item]) -> list[Sent]:
        """The items as this subscription gets them: twin changes projected to its `fields` (if any)."""
        if s.fields is None:
            return list(items)
        fields = s.fields
        return [p for i in items if (p := project(i, fields) if not isinstance(i, EVENTS) else i) is not None]

    def wants(self, s: Subscription, item: Item) -> bool:
        machine_id = changes.machine_of(item)
        return s.filter.matches(machine_id, lambda: _meta(self.view, machine_id, item))

    def flush(self, s: Subscription) -> None:
        if not s.has_pending:
            return
        items: list[Any]
        if s.series is not None:
            items = s.series.drain()
        else:
            items = self.project(s, list(s.pending.values()))
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


def _meta(view: FleetView, machine_id: str, item: Item) -> dict[str, Any] | None:
    """The placement a filter matches: the change's own when it carries it, else the twin's held here (a
    removal's too: the hub runs before the view forgets the twin)."""
    if isinstance(item, ReportedChange | WholeTwinChange) and item.machine_type is not None:
        return {"machine_type": item.machine_type, "site": item.site, "line": item.line}
    if isinstance(item, AnomalyEventChange | AlarmChange):
        twin = view.get(machine_id)
        return twin if twin is not None else {"machine_type": item.machine_type}
    return view.get(machine_id)


@dataclass
class Hub:
    view: FleetView
    queue_size: int = 256
    clients: set[Client] = field(default_factory=set)
    metrics: Metrics | None = None  # messages sent and slow clients dropped (the connection handler counts)
    tracing: Tracing = field(default_factory=lambda: DISABLED)  # a traced change's fan-out: its trace

    def register(self) -> Client:
        client = Client(asyncio.Queue(self.queue_size), self.view)
        self.clients.add(client)
        return client

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)

    def dispatch(self, msg: ChangeMessage) -> None:
        parent = remote_context({TRACEPARENT: msg.trace}) if msg.trace and self.tracing.enabled else None
        if parent is None:
            self._deliver(msg)
            return
        with self.tracing.tracer.start_as_current_span(
            "ws.fanout",
            context=as_parent(parent),
            attributes={"dtwin.change_seq": msg.seq, "dtwin.ws_clients": len(self.clients)},
        ):
            self._deliver(msg)

    def _deliver(self, msg: ChangeMessage) -> None:
        cache: dict[Any, str] = {}
        for client in list(self.clients):
            client.deliver(msg, cache)

    def resync(self) -> None:
        """The feed lost messages it could not recover: every client's twins subscriptions get a fresh
        snapshot (the connection handler watches `resync`)."""
        for client in list(self.clients):
            client.resync.set()
