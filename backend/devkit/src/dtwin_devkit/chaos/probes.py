"""What the chaos run observes: a WebSocket client that reconnects and resumes, the REST API, and the
database compared with the simulator's own record of what it published."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import websockets
from sqlalchemy.engine import make_url


@dataclass
class WsWatcher:
    """One client subscribed to every twin. On a lost connection it reconnects (to whichever backend
    `url` names then) with `resume_after` = the last seq it saw, and records what it got back first:
    a replay, a plain update (nothing was missed) or a snapshot with its reason."""

    url: Callable[[], str | None]
    token: str
    connects: int = 0
    last_seq: int | None = None
    updates: int = 0
    backwards: list[tuple[int, int]] = field(default_factory=list)  # (seq seen, seq before it)
    outcomes: list[str] = field(default_factory=list)  # per reconnect and per unasked snapshot
    last_update_at: float = 0.0
    errors: list[str] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            target = self.url()
            if target is None:
                await asyncio.sleep(0.3)
                continue
            try:
                await self._session(target)
            except (TimeoutError, OSError, websockets.WebSocketException) as exc:
                if len(self.errors) < 20:
                    self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            await asyncio.sleep(0.3)

    async def _session(self, target: str) -> None:
        async with websockets.connect(target, max_size=None, open_timeout=5) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": self.token}).decode())
            hello = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            if hello.get("type") != "hello":
                raise websockets.WebSocketException(f"unexpected first message {hello}")
            self.connects += 1
            resuming = self.last_seq is not None
            sub: dict[str, Any] = {"type": "subscribe", "sub": "all", "stream": "twins", "max_rate_hz": 5}
            if resuming:
                sub["resume_after"] = self.last_seq
            await ws.send(orjson.dumps(sub).decode())
            first = True
            async for raw in ws:
                msg = orjson.loads(raw)
                kind = msg.get("type")
                if kind not in ("snapshot", "update"):
                    continue
                if kind == "snapshot":
                    reason = msg.get("reason", "?")
                    if resuming or reason != "subscribe":
                        self.outcomes.append(f"snapshot:{reason}")
                elif first and resuming:
                    self.outcomes.append("replay" if msg.get("replay") else "resumed")
                first = False
                seq = msg.get("seq")
                if isinstance(seq, int):
                    # a snapshot restates the state at its seq: only updates must move forward
                    if kind == "update" and self.last_seq is not None and seq <= self.last_seq:
                        self.backwards.append((seq, self.last_seq))
                    self.last_seq = (
                        seq if self.last_seq is None or kind == "snapshot" else max(seq, self.last_seq)
                    )
                if kind == "update":
                    self.updates += 1
                    self.last_update_at = time.monotonic()


class Api:
    """REST calls as the bootstrap admin, to whichever backend is alive."""

    def __init__(self, base: Callable[[], str | None], token: str) -> None:
        self.base = base
        self.http = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10)

    async def close(self) -> None:
        await self.http.aclose()

    def _url(self, path: str) -> str:
        base = self.base()
        if base is None:
            raise httpx.ConnectError("no backend alive")
        return base + path

    async def twin(self, machine_id: str) -> dict[str, Any] | None:
        r = await self.http.get(self._url(f"/api/v1/twins/{machine_id}"))
        return r.json() if r.status_code == 200 else None

    async def twins(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = {"limit": "10000", **({"cursor": cursor} if cursor else {})}
            r = await self.http.get(self._url("/api/v1/twins"), params=params)
            r.raise_for_status()
            page = r.json()
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    async def put_attributes(self, machine_id: str, attributes: dict[str, Any]) -> dict[str, Any]:
        r = await self.http.put(
            self._url(f"/api/v1/twins/{machine_id}/attributes"), json={"attributes": attributes}
        )
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    async def patch_desired(self, machine_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        r = await self.http.patch(
            self._url(f"/api/v1/twins/{machine_id}/desired"),
            content=orjson.dumps(patch),
            headers={"content-type": "application/merge-patch+json"},
        )
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]


async def ready(base: str) -> dict[str, Any] | None:
    """The /readyz body when it says ready, else None."""
    with contextlib.suppress(httpx.HTTPError, ValueError):
        async with httpx.AsyncClient(timeout=3) as http:
            r = await http.get(base + "/readyz")
            if r.status_code == 200:
                return r.json()  # type: ignore[no-any-return]
    return None


async def readyz_body(base: str) -> dict[str, Any] | None:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        async with httpx.AsyncClient(timeout=3) as http:
            return (await http.get(base + "/readyz")).json()  # type: ignore[no-any-return,unused-ignore]
    return None


# ------------------------------------------------------------------ database and ground truth


def pg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def pg(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(pg_dsn(database_url), timeout=3)


async def set_synchronous_commit(database_url: str, on: bool) -> None:
    """The throwaway server runs with synchronous_commit=off (fast tests), which lets a crash lose commits
    it already acknowledged; a per-database setting overrides the command line for new sessions."""
    conn = await pg(database_url)
    try:
        db = make_url(database_url).database or "postgres"
        await conn.execute(f'ALTER DATABASE "{db}" SET synchronous_commit = {"on" if on else "off"}')
    finally:
        await conn.close()


async def rows_and_newest(database_url: str) -> tuple[int, datetime | None]:
    """count(*) and max(ts) of readings; raises while the database is out."""
    conn = await pg(database_url)
    try:
        row = await conn.fetchrow("SELECT count(*) AS n, max(ts) AS newest FROM readings")
        assert row is not None
        return int(row["n"]), row["newest"]
    finally:
        await conn.close()


async def machines_since(database_url: str, since: datetime) -> int:
    """How many machines have a reading stamped after `since`; raises while the database is out."""
    conn = await pg(database_url)
    try:
        return int(
            await conn.fetchval("SELECT count(DISTINCT machine_id) FROM readings WHERE ts > $1", since)
        )
    finally:
        await conn.close()


@dataclass
class Truth:
    """The database against what the simulator recorded as published (`dtwin simulate --record`: one CSV row
    per reading, written as the messages are handed to MQTT)."""

    published: int  # readings in the recording
    expected: int  # distinct (machine, sensor, ts) among them
    stored: int  # rows in readings
    lost: int  # expected keys with no row
    duplicated: int  # rows minus distinct keys in readings
    extra: int  # rows nobody published
    wrong_value: int  # rows whose value differs from the published one
    lost_where: str = ""  # the lost readings' machines and time range


async def compare_with_recording(database_url: str, recording: Path) -> Truth:
    conn = await pg(database_url)
    try:
        await conn.execute(
            "CREATE TEMP TABLE published (ts text, machine_id text, machine_type text, site text, line text, "
            "sensor text, value double precision)"
        )
        await conn.copy_to_table("published", source=str(recording), format="csv", header=True)
        await conn.execute(
            "CREATE TEMP TABLE expected AS SELECT machine_id, sensor, ts::timestamptz AS ts, "
            "min(value) AS value FROM published GROUP BY 1, 2, 3"
        )
        await conn.execute("CREATE INDEX ON expected (machine_id, sensor, ts)")
        published = int(await conn.fetchval("SELECT count(*) FROM published"))
        expected = int(await conn.fetchval("SELECT count(*) FROM expected"))
        stored = int(await conn.fetchval("SELECT count(*) FROM readings"))
        distinct = int(await conn.fetchval("SELECT count(DISTINCT (machine_id, sensor, ts)) FROM readings"))
        lost = int(
            await conn.fetchval(
                "SELECT count(*) FROM expected e WHERE NOT EXISTS (SELECT 1 FROM readings r "
                "WHERE r.machine_id = e.machine_id AND r.sensor = e.sensor AND r.ts = e.ts)"
            )
        )
        extra = int(
            await conn.fetchval(
                "SELECT count(*) FROM readings r WHERE NOT EXISTS (SELECT 1 FROM expected e "
                "WHERE r.machine_id = e.machine_id AND r.sensor = e.sensor AND r.ts = e.ts)"
            )
        )
        wrong = int(
            await conn.fetchval(
                "SELECT count(*) FROM readings r JOIN expected e USING (machine_id, sensor, ts) "
                "WHERE r.value <> e.value"
            )
        )
        where = ""
        if lost:
            row = await conn.fetchrow(
                "SELECT count(DISTINCT machine_id) AS machines, min(ts) AS first, max(ts) AS last, "
                "count(DISTINCT ts) AS instants FROM expected e WHERE NOT EXISTS (SELECT 1 FROM readings r "
                "WHERE r.machine_id = e.machine_id AND r.sensor = e.sensor AND r.ts = e.ts)"
            )
            assert row is not None
            where = (
                f"{row['machines']} machine(s), {row['instants']} instant(s) from "
                f"{row['first']:%H:%M:%S.%f} to {row['last']:%H:%M:%S.%f} UTC"
            )
        return Truth(published, expected, stored, lost, stored - distinct, extra, wrong, where)
    finally:
        await conn.close()


async def newest_readings(database_url: str) -> dict[str, tuple[datetime, dict[str, float]]]:
    """Per machine: its newest timestamp and the newest value of each sensor, from PostgreSQL."""
    conn = await pg(database_url)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT ON (machine_id, sensor) machine_id, sensor, ts, value FROM readings "
            "ORDER BY machine_id, sensor, ts DESC"
        )
    finally:
        await conn.close()
    out: dict[str, tuple[datetime, dict[str, float]]] = {}
    for r in rows:
        ts, values = out.get(r["machine_id"], (datetime.min.replace(tzinfo=UTC), {}))
        values[r["sensor"]] = float(r["value"])
        out[r["machine_id"]] = (max(ts, r["ts"]), values)
    return out
