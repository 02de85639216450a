"""The strategy vocabulary of the adaptive-decision design (defensive, neutral, stable_growth, aggressive) end to
end: what the engine decides, what is stored, what the API and the change stream answer, and the old names
(stable, monitor) migrated in stored decisions and read as the new ones wherever they may still linger."""

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import insert, select

from dtwin.anomalies.models import DecisionRow
from dtwin.contracts import changes
from dtwin.contracts.strategies import STRATEGIES
from dtwin_devkit.testing import eventually
from tests.factories import telemetry as factories
from tests.factories.decisions import T0, decision_row, stored_strategies_through_the_migration

NEW = {"defensive", "neutral", "stable_growth", "aggressive"}


def test_the_vocabulary_is_the_designs_in_the_engines_order() -> None:
    assert STRATEGIES == ("stable_growth", "neutral", "defensive", "aggressive")


async def test_migration_renames_stored_decisions_and_back(tmp_path: Path) -> None:
    upgraded, downgraded = await stored_strategies_through_the_migration(
        f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    )
    assert upgraded == ["stable_growth", "neutral", "defensive", "aggressive"]
    assert downgraded == ["stable", "monitor", "defensive", "aggressive"]


async def test_decisions_are_decided_stored_and_answered_in_the_new_vocabulary(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await factories.feed(
        app,
        "conv-st01",
        150,
        t0=T0,
        readings=lambda i: {"current_a": 10.0 + 0.01 * (i % 3), "load_pct": 50.0},
    )

    async def decided() -> list[dict[str, object]]:
        r = await client.get("/api/v1/twins/conv-st01/decisions", params={"from": "2026-11-23T00:00:00Z"})
        items: list[dict[str, object]] = r.json()["items"] if r.status_code == 200 else []
        return items

    items = await eventually(decided, what="a decision")
    assert {i["strategy"] for i in items} <= NEW
    async with app.state.adapters.sessions() as session:
        stored = set((await session.scalars(select(DecisionRow.strategy))).all())
    assert stored and stored <= NEW
    twin = (await client.get("/api/v1/twins/conv-st01")).json()
    health = (await client.get("/api/v1/twins/conv-st01/health")).json()
    assert twin["strategy"] in NEW and health["strategy"] in NEW
    assert health["decision"]["strategy"] in NEW


async def test_old_names_that_linger_are_answered_in_the_new_vocabulary(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Rows a not yet upgraded process stored after the migration, a twin scored before the upgrade (no
    telemetry: nothing else writes its analytics meanwhile)."""
    created = await client.post("/api/v1/twins", json={"id": "conv-st02", "machine_type": "conveyor"})
    assert created.status_code == 201, created.text
    adapters = app.state.adapters
    async with adapters.sessions() as session, session.begin():
        await session.execute(
            insert(DecisionRow),
            [decision_row("conv-st02", s, i) for i, s in enumerate(("stable", "monitor"))],
        )
    await adapters.redis.hset(
        adapters.keys.twin("conv-st02"),
        mapping={
            "strategy": "monitor",
            "analytics": b'{"health": 80.0, "strategy": "monitor", "decision": {"strategy": "stable"}}',
        },
    )
    r = await client.get("/api/v1/twins/conv-st02/decisions", params={"from": "2026-11-23T00:00:00Z"})
    assert [i["strategy"] for i in r.json()["items"]] == ["stable_growth", "neutral"]
    assert (await client.get("/api/v1/twins/conv-st02")).json()["strategy"] == "neutral"
    health = (await client.get("/api/v1/twins/conv-st02/health")).json()
    assert health["strategy"] == "neutral" and health["decision"]["strategy"] == "stable_growth"


def test_change_stream_messages_with_old_names_decode_to_the_new_ones() -> None:
    decision = (
        b'{"type":"decisions","seq":7,"items":[{"id":1,"machine_id":"m","ts":"2026-11-23T10:00:00.000Z",'
        b'"strategy":"monitor","confidence":0.8,"risk":0.3,"opportunity":0.0,"stability":1.0,"reasons":[]}]}'
    )
    msg = changes.decode(decision)
    assert isinstance(msg, changes.DecisionsMessage) and msg.items[0].strategy == "neutral"
    analytics = b'{"type":"twins","seq":8,"items":[{"kind":"analytics","id":"m","health":90.0,"anomaly_score":0.1,"strategy":"stable"}]}'
    msg = changes.decode(analytics)
    assert isinstance(msg, changes.TwinsMessage)
    item = msg.items[0]
    assert isinstance(item, changes.AnalyticsChange) and item.strategy == "stable_growth"
