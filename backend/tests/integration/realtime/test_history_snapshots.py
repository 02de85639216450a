"""The WebSocket's `alerts` and `decisions` snapshots come from the stored history (through the anomalies
room's service): the newest first, only the filtered machines, as the API renders them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from dtwin.anomalies.repository import AnomalyRepository
from dtwin.config import Settings
from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.main import create_app
from dtwin_devkit.testing import serve_app

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def snapshot(ws: ClientConnection, **body: Any) -> dict[str, Any]:
    await ws.send(orjson.dumps({"type": "subscribe", **body}).decode())
    while True:
        msg: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        assert msg["type"] in ("hello", "subscribed", "snapshot", "heartbeat"), msg
        if msg["type"] == "snapshot":
            return msg


async def test_alert_and_decision_snapshots_are_the_filtered_history_newest_first(
    real_settings: Settings, uid: str, admin_headers: dict[str, str]
) -> None:
    a, b = f"a-{uid}", f"b-{uid}"
    events = [
        {
            "machine_id": m,
            "machine_type": "pump",
            "ts": T0 + timedelta(seconds=i),
            "kind": "start",
            "started_at": T0,
            "score": 0.6,
            "peak_score": 0.6,
            "threshold": 0.5,
            "detector": "limit",
            "explanation": [],
        }
        for i, m in enumerate([a, b, a, b, a])
    ]
    decisions = [
        {
            "machine_id": m,
            "ts": T0 + timedelta(seconds=i),
            "strategy": "monitor",
            "confidence": 0.7,
            "risk": 0.3,
            "opportunity": 0.2,
            "stability": 0.9,
            "reasons": [f"r{i}"],
        }
        for i, m in enumerate([a, b, b])
    ]
    engine = create_engine(real_settings.database_url or "")
    try:
        async with transaction(create_sessionmaker(engine)) as s:
            event_ids = await AnomalyRepository(s).add_events(events)
            decision_ids = await AnomalyRepository(s).add_decisions(decisions)
    finally:
        await engine.dispose()

    async with (
        serve_app(create_app(real_settings)) as url,
        websockets.connect(f"ws://{url}/ws", additional_headers=admin_headers) as ws,
    ):
        alerts = await snapshot(ws, stream="alerts", sub="al", filter={"machine_ids": [a]})
        assert [e["id"] for e in alerts["items"]] == [event_ids[4], event_ids[2], event_ids[0]]
        assert {e["machine_id"] for e in alerts["items"]} == {a}
        assert alerts["items"][0]["ts"].startswith("2026-11-23T08:00:04")
        recs = await snapshot(ws, stream="decisions", sub="de", filter={"machine_ids": [b]})
        assert [d["id"] for d in recs["items"]] == [decision_ids[2], decision_ids[1]]
        assert recs["items"][0]["reasons"] == ["r2"]
