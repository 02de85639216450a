"""WebSocket endpoint `/ws`: subscriptions with filters and rate caps, snapshots, sequence numbers and
resume, heartbeats, a maximum lifetime, and slow clients dropped (protocol in docs/api.md)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.schemas import AlarmRead
from dtwin.alarms.service import AlarmService
from dtwin.anomalies.schemas import AnomalyEventRead, DecisionRead
from dtwin.anomalies.service import AnomalyHistory
from dtwin.auth.identity import Identity, Role, at_least
from dtwin.auth.service import AuthService
from dtwin.contracts.limits import MAX_WS_SUBSCRIPTIONS
from dtwin.contracts.telemetry import iso_utc
from dtwin.core.http import header_credential
from dtwin.errors import NotFound, Unauthorized
from dtwin.readings.charts import build_series
from dtwin.realtime.feed import ChangeFeed
from dtwin.realtime.hub import CLOSE_LIFETIME, CLOSE_SLOW, Client, Hub, StreamFilter, Subscription
from dtwin.realtime.schemas import AuthMessage, SubscribeMessage, UnsubscribeMessage, client_messages
from dtwin.realtime.series import LiveSeries
from dtwin.twins.schemas import TwinRead
from dtwin.twins.service import TwinService
from dtwin.twins.store import TwinStore

router = APIRouter(tags=["realtime"])
log = structlog.get_logger(__name__)

SNAPSHOT_EVENTS = 100
MAX_INVALID = 20
# The close frame goes out behind what the connection already holds: uvicorn takes it only once the socket
# is writable again, so a client dropped as slow gets it after reading the messages already on their way (up
# to one message plus the socket buffers, megabytes). Past this, the connection ends without a close frame.
CLOSE_TIMEOUT_S = 10.0
TWIN_FIELDS = tuple(TwinRead.model_fields)  # a snapshot item is a TwinRead
CLOSE_UNAUTHENTICATED = 4401  # no valid credentials (none in time, invalid, expired, revoked, disabled)
CLOSE_FORBIDDEN = 4403  # a subscription the connection's role may not hold
AUTH_TIMEOUT_S = 10.0  # for the first message, the credentials
RECHECK_S = 60.0  # a session's credentials are checked again this often (a disabled user, a revoked key)
# The role each stream needs (every stream is a read: viewers read everything).
STREAM_ROLES: dict[str, Role] = {
    "twins": Role.viewer,
    "alerts": Role.viewer,
    "decisions": Role.viewer,
    "alarms": Role.viewer,
    "series": Role.viewer,
}


@dataclass
class Realtime:
    """What the WebSocket endpoint needs, built once in the lifespan (app.state.realtime)."""

    hub: Hub
    feed: ChangeFeed
    store: TwinStore
    service: TwinService
    sessions: async_sessionmaker[AsyncSession]
    heartbeat_s: float = 15.0
    max_lifetime_s: float = 3600.0
    replay_limit: int = 2000


class Connection:
    def __init__(
        self, ws: WebSocket, rt: Realtime, auth: AuthService, identity: Identity, credential: str
    ) -> None:
        self.ws = ws
        self.rt = rt
        self.auth = auth
        self.identity = identity
        self.credential = credential
        self.renewed = asyncio.Event()
        self.closing: tuple[int, str] | None = None  # a close decided by the receive loop
        self.client: Client = rt.hub.register()
        self.metrics = rt.hub.metrics
        self.invalid = 0

    def send(self, message: dict[str, Any]) -> None:
        self.client.send(message)

    def error(self, title: str, detail: str, sub: str | None = None) -> None:
        self.send({"type": "error", "sub": sub, "title": title, "detail": detail})

    async def serve(self) -> None:
        rt, client = self.rt, self.client
        self.send(
            {
                "type": "hello",
                "server_time": iso_utc(datetime.now(UTC)),
                "seq": rt.feed.seq,
                "heartbeat_s": rt.heartbeat_s,
                "max_lifetime_s": rt.max_lifetime_s,
                **self._identity_members(),
            }
        )
        tasks = {
            asyncio.create_task(self._pump(), name="ws-pump"): "pump",
            asyncio.create_task(self._receive(), name="ws-receive"): "receive",
            asyncio.create_task(client.run_flusher(), name="ws-flush"): "flush",
            asyncio.create_task(self._heartbeat(), name="ws-heartbeat"): "heartbeat",
            asyncio.create_task(self._resyncs(), name="ws-resync"): "resync",
            asyncio.create_task(client.dropped.wait(), name="ws-dropped"): "dropped",
            asyncio.create_task(self._credentials(), name="ws-credentials"): "credentials",
        }
        try:
            done, _ = await asyncio.wait(
                tasks, timeout=rt.max_lifetime_s, return_when=asyncio.FIRST_COMPLETED
            )
            ended = {tasks[t] for t in done}
            for t in done:
                exc = None if t.cancelled() else t.exception()
                if isinstance(exc, WebSocketDisconnect | OSError):
                    ended.add("receive")  # the client went away while we were sending
                elif exc is not None and tasks[t] != "receive":
                    log.warning("ws_task_failed", task=tasks[t], error=repr(exc))

        finally:
            rt.hub.unregister(client)
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        if "receive" in ended and self.closing is None:
            return  # the client went away
        if self.closing is not None:
            code, reason = self.closing
        elif "credentials" in ended:
            code, reason = CLOSE_UNAUTHENTICATED, "credentials expired or revoked: authenticate again"
            log.info("ws_credentials_ended", actor=f"{self.identity.kind}:{self.identity.name}")
        elif "dropped" in ended:
            code, reason = CLOSE_SLOW, "client too slow: send buffer full"
            log.info("ws_client_dropped", sent=client.sent)
            if self.metrics is not None:
                self.metrics.ws_dropped.inc()
        elif not ended:
            code, reason = CLOSE_LIFETIME, "max connection lifetime reached: reconnect and resume"
        else:
            code, reason = 1011, "server error"
        try:
            await asyncio.wait_for(self.ws.close(code=code, reason=reason), timeout=CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.info("ws_close_frame_not_sent", code=code, timeout_s=CLOSE_TIMEOUT_S)
        except Exception as exc:  # the client went away meanwhile
            log.debug("ws_close_failed", code=code, error=repr(exc))

    async def _pump(self) -> None:
        while True:
            text = await self.client.queue.get()
            if text is None:
                return
            await self.ws.send_text(text)
            self.client.sent += 1
            if self.metrics is not None:
                self.metrics.ws_messages.inc()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.rt.heartbeat_s)
            self.send(
                {"type": "heartbeat", "server_time": iso_utc(datetime.now(UTC)), "seq": self.rt.feed.seq}
            )

    def _identity_members(self) -> dict[str, Any]:
        i = self.identity
        return {
            "identity": {"kind": i.kind, "id": i.id, "name": i.name, "role": i.role.value},
            "expires_at": iso_utc(i.expires_at) if i.expires_at is not None else None,
        }

    async def _credentials(self) -> None:
        """Returns (ending the session, 4401) once the credentials expire without an `auth` renewal, or
        when a periodic check finds them no longer valid (a disabled user, a revoked key)."""
        while True:
            expires = self.identity.expires_at
            wait = RECHECK_S
            if expires is not None:
                wait = min(wait, (expires - datetime.now(UTC)).total_seconds())
            if wait <= 0:
                return
            try:
                await asyncio.wait_for(self.renewed.wait(), timeout=wait)
                self.renewed.clear()
                continue
            except TimeoutError:
                pass
            if self.identity.expires_at is not None and self.identity.expires_at <= datetime.now(UTC):
                return
            try:
                self.identity = await self.auth.authenticate(self.credential)
            except Unauthorized:
                return
            except Exception as exc:  # the database is out: keep the session, check again later
                log.warning("ws_credentials_check_failed", error=repr(exc))

    async def _renew(self, msg: AuthMessage) -> bool:
        """A fresh token during the session; False when the connection must close (set in `closing`)."""
        try:
            identity = await self.auth.authenticate(msg.token.strip())
        except Unauthorized as exc:
            self.closing = (CLOSE_UNAUTHENTICATED, _reason(exc.detail or "invalid credentials"))
            return False
        if (identity.kind, identity.id) != (self.identity.kind, self.identity.id):
            self.closing = (CLOSE_UNAUTHENTICATED, "a session is renewed with its own principal's token")
            return False
        self.identity, self.credential = identity, msg.token
        self.renewed.set()
        for s in self.client.subs.values():
            if not self._may_read(s.stream):
                self.closing = (CLOSE_FORBIDDEN, _forbidden(s.stream, identity))
                return False
        self.send({"type": "authenticated", **self._identity_members()})
        return True

    def _may_read(self, stream: str) -> bool:
        return at_least(self.identity.role, STREAM_ROLES[stream])

    async def _resyncs(self) -> None:
        while True:
            await self.client.resync.wait()
            self.client.resync.clear()
            for s in list(self.client.subs.values()):
                if s.listens_to == "twins":
                    await self._start(s, None, "resync")

    async def _receive(self) -> None:
        while True:
            try:
                text = await self.ws.receive_text()
            except (WebSocketDisconnect, RuntimeError, KeyError):
                return  # disconnected (or a binary frame, which the protocol does not use)
            try:
                msg = client_messages.validate_json(text)
            except ValidationError as exc:
                self.invalid += 1
                if self.invalid > MAX_INVALID:
                    with contextlib.suppress(Exception):
                        await self.ws.close(code=1008, reason="too many invalid messages")
                    return
                self.error("invalid message", _explain(exc))
                continue
            self.invalid = 0
            if isinstance(msg, AuthMessage):
                if not await self._renew(msg):
                    return
            elif isinstance(msg, SubscribeMessage):
                if not self._may_read(msg.stream):
                    self.closing = (CLOSE_FORBIDDEN, _forbidden(msg.stream, self.identity))
                    return
                await self._subscribe(msg)
            elif isinstance(msg, UnsubscribeMessage):
                if self.client.subs.pop(msg.sub, None) is None:
                    self.error("unknown subscription", f"no subscription named {msg.sub!r}", msg.sub)
                else:
                    self.send({"type": "unsubscribed", "sub": msg.sub})
            else:
                self.send({"type": "pong", "id": msg.id})

    async def _subscribe(self, m: SubscribeMessage) -> None:
        f, spec = m.filter, m.series
        if m.sub not in self.client.subs and len(self.client.subs) >= MAX_WS_SUBSCRIPTIONS:
            detail = f"a connection may hold {MAX_WS_SUBSCRIPTIONS} subscriptions; unsubscribe one first"
            self.error("too many subscriptions", detail, m.sub)
            return
        if spec is not None:
            try:
                await self.rt.service.ensure_exists(spec.machine_id)
            except NotFound as exc:
                self.client.subs.pop(m.sub, None)
                self.error("unknown machine", str(exc), m.sub)
                return
        s = Subscription(
            m.sub,
            m.stream,
            StreamFilter(
                frozenset(f.machine_ids) if f.machine_ids is not None else None,
                f.machine_type,
                f.site,
                f.line,
            ),
            m.max_rate_hz,
            frozenset(m.fields) if m.fields is not None else None,
        )
        if spec is not None:
            s.series = LiveSeries.for_window(
                spec.machine_id, spec.sensors, spec.method, spec.from_, spec.to, spec.width
            )
        self.client.subs[m.sub] = s
        self.send(
            {
                "type": "subscribed",
                "sub": m.sub,
                "stream": m.stream,
                "filter": f.model_dump(exclude_none=True),
                **({"series": spec.model_dump(mode="json", by_alias=True)} if spec is not None else {}),
                "max_rate_hz": m.max_rate_hz,
                **({"fields": m.fields} if m.fields is not None else {}),
            }
        )
        await self._start(s, m.resume_after, "subscribe")

    async def _start(self, s: Subscription, resume_after: int | None, reason: str) -> None:
        """Send the snapshot (or the replay), holding live messages meanwhile, then release them."""
        s.held = []
        try:
            replayed = False
            if resume_after is not None and s.series is not None:
                reason = "gap"  # a chart stream restarts with its window, not a replay of twin changes
            elif resume_after is not None:
                replayed = await self._replay(s, resume_after)
                if not replayed:
                    reason = "gap"
            if not replayed:
                await self._snapshot(s, reason)
        finally:
            held, s.held = s.held, None
            if self.client.subs.get(s.sub) is s:
                for msg in held or ():
                    self.client.deliver_to(s, msg, None)

    async def _replay(self, s: Subscription, after: int) -> bool:
        if after > self.rt.feed.seq:
            return False  # a seq this platform never issued (e.g. the client saw another deployment)
        missed = await self.rt.store.stream.after(after, self.rt.replay_limit)
        if missed is None:
            return False
        s.seq = after
        for msg in missed:
            if msg.type == s.stream:
                self.client.deliver_to(s, msg, None, replay=True)
            s.seq = max(s.seq, msg.seq)  # replayed up to here, matching or not
        return True

    async def _snapshot(self, s: Subscription, reason: str) -> None:
        rt = self.rt
        if (series := s.series) is not None:
            # The seq first: every change up to it was committed to the database before it was published,
            # so the query holds its readings; later ones arrive as updates (older points are not resent).
            seq = rt.feed.seq
            async with rt.sessions() as session:
                window = await build_series(
                    session,
                    series.machine_id,
                    start=series.start,
                    end=series.end or datetime.now(UTC),
                    width=series.width,
                    method=series.method,
                    sensors=series.sensors,
                )
            series.seed(window.sensors)
            items: list[Any] = [window.model_dump(mode="json")]
        elif s.stream == "twins":
            view = rt.feed.view
            if not view.ready.is_set():
                try:
                    await asyncio.wait_for(view.ready.wait(), timeout=10.0)
                except TimeoutError:
                    self.error("not ready", "the twin read model is still loading; subscribe again", s.sub)
                    return
            seq = view.seq
            twins = [t for t in view.all() if s.filter.matches(t["id"], _const(t))]
            rt.service.with_status_many(twins, datetime.now(UTC))
            items = [{k: t.get(k) for k in TWIN_FIELDS} for t in twins]
        else:
            seq = rt.feed.seq
            items = await self._recent(s)
        s.seq = seq
        if self.client.subs.get(s.sub) is s:
            self.send({"type": "snapshot", "sub": s.sub, "seq": seq, "reason": reason, "items": items})

    async def _recent(self, s: Subscription) -> list[dict[str, Any]]:
        """The newest events, decisions or open alarms matching the filter, newest first."""
        async with self.rt.sessions() as session:
            history = AnomalyHistory(session)
            found: list[AnomalyEventRead] | list[DecisionRead] | list[AlarmRead]
            if s.stream == "alerts":
                found = await history.newest_events(s.filter.machine_ids, SNAPSHOT_EVENTS * 10)
            elif s.stream == "alarms":
                found = await AlarmService(session).newest_open(s.filter.machine_ids, SNAPSHOT_EVENTS * 10)
            else:
                found = await history.newest_decisions(s.filter.machine_ids, SNAPSHOT_EVENTS * 10)
        out: list[dict[str, Any]] = []
        for r in found:
            item = r.model_dump(mode="json")
            machine_id = item["machine_id"]
            if s.filter.matches(machine_id, _const(self.rt.feed.view.get(machine_id) or item)):
                out.append(item)
                if len(out) == SNAPSHOT_EVENTS:
                    break
        return out


def _const(value: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: value


def _explain(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:3]:
        where = ".".join(str(p) for p in e["loc"]) or "message"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts) + (' (expected {"type": "subscribe"|"unsubscribe"|"ping", ...}, see docs/api.md)')


def _reason(text: str) -> str:
    """A close frame's reason: at most 123 bytes."""
    return text.encode()[:123].decode(errors="ignore")


def _forbidden(stream: str, identity: Identity) -> str:
    return _reason(
        f"stream {stream!r} needs role {STREAM_ROLES[stream].value}; yours is {identity.role.value}"
    )


async def _first_credential(ws: WebSocket) -> str | None:
    """The credentials of the first message, an `auth` message; None (closed, 4401) otherwise."""
    problem = 'send {"type": "auth", "token": "<access token or API key>"} first'
    try:
        text = await asyncio.wait_for(ws.receive_text(), timeout=AUTH_TIMEOUT_S)
    except TimeoutError:
        problem = f"no credentials within {AUTH_TIMEOUT_S:g} s: {problem}"
        text = None
    except (WebSocketDisconnect, RuntimeError, KeyError):
        return None  # gone (or a binary frame)
    if text is not None:
        try:
            msg = client_messages.validate_json(text)
        except ValidationError:
            msg = None
        if isinstance(msg, AuthMessage):
            return msg.token
    with contextlib.suppress(Exception):
        await ws.close(code=CLOSE_UNAUTHENTICATED, reason=_reason(problem))
    return None


@router.websocket("/ws")
async def websocket_updates(ws: WebSocket) -> None:
    """Live twin changes, anomaly alerts and decisions by subscription (see docs/api.md, and the
    `WsClientMessage` / `WsServerMessage` schemas). The first message carries the credentials (`auth`)."""
    rt: Realtime = ws.app.state.realtime
    auth: AuthService = ws.app.state.auth
    await ws.accept()
    # clients other than browsers may authenticate on the upgrade request
    credential = header_credential(ws.headers) or await _first_credential(ws)
    if credential is None:
        return
    try:
        identity = await auth.authenticate(credential.strip())
    except Unauthorized as exc:
        with contextlib.suppress(Exception):
            await ws.close(code=CLOSE_UNAUTHENTICATED, reason=_reason(exc.detail or "invalid credentials"))
        return
    except Exception as exc:  # the database is out: the client retries as after any close
        log.warning("ws_authentication_failed", error=repr(exc))
        with contextlib.suppress(Exception):
            await ws.close(code=1013, reason="credentials cannot be checked now: try again later")
        return
    await Connection(ws, rt, auth, identity, credential).serve()
