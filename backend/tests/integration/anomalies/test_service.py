"""Stored anomaly events and decisions on real PostgreSQL: ids come back in insertion order, a machine's
history is read by window oldest first, the WebSocket snapshot's newest-first read honours its machine
filter; all of it as API schemas."""

from datetime import UTC, datetime, timedelta

from dtwin.anomalies.repository import AnomalyRepository
from dtwin.anomalies.service import AnomalyHistory
from dtwin.core.db import create_engine, create_sessionmaker, transaction

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def event(machine_id: str, i: int) -> dict[str, object]:
    return {
        "machine_id": machine_id,
        "machine_type": "pump",
        "ts": T0 + timedelta(seconds=i),
        "kind": "start" if i == 0 else "update",
        "started_at": T0,
        "score": 0.5 + i / 100,
        "peak_score": 0.5 + i / 100,
        "threshold": 0.5,
        "detector": "limit",
        "explanation": [{"sensor": "temperature_c", "share": 1.0}],
    }


def decision(machine_id: str, i: int) -> dict[str, object]:
    return {
        "machine_id": machine_id,
        "ts": T0 + timedelta(seconds=i),
        "strategy": "defensive",
        "confidence": 0.8,
        "risk": 0.7,
        "opportunity": 0.1,
        "stability": 0.5,
        "reasons": [f"reason {i}"],
    }


async def test_events_and_decisions_are_stored_and_read_back_as_schemas(pg_url: str, uid: str) -> None:
    engine = create_engine(pg_url)
    sessions = create_sessionmaker(engine)
    a, b = f"a-{uid}", f"b-{uid}"
    try:
        async with transaction(sessions) as s:
            repo = AnomalyRepository(s)
            ids = await repo.add_events([event(a, i) for i in range(5)] + [event(b, i) for i in range(3)])
            dids = await repo.add_decisions([decision(a, 0), decision(b, 1)])
            assert await repo.add_events([]) == [] and await repo.add_decisions([]) == []
        assert ids == sorted(ids) and len(set(ids)) == 8 and dids == sorted(dids) and len(dids) == 2

        async with sessions() as s:
            history = AnomalyHistory(s)
            window = await history.events(
                a, start=T0 + timedelta(seconds=1), end=T0 + timedelta(seconds=3), limit=10
            )
            assert [(e.id, e.ts) for e in window] == [(ids[i], T0 + timedelta(seconds=i)) for i in (1, 2, 3)]
            assert window[0].explanation == [{"sensor": "temperature_c", "share": 1.0}]
            assert [
                d.reasons for d in await history.decisions(b, start=T0, end=T0 + timedelta(hours=1), limit=5)
            ] == [["reason 1"]]

            newest_a = await history.newest_events({a}, limit=2)
            assert [e.id for e in newest_a] == [ids[4], ids[3]]
            both = await history.newest_events([a, b], limit=100)
            assert [e.id for e in both] == sorted(ids, reverse=True)
            assert [d.machine_id for d in await history.newest_decisions({b}, limit=10)] == [b]
            everyone = await history.newest_decisions(None, limit=1)
            assert len(everyone) == 1 and everyone[0].id >= dids[1]
    finally:
        await engine.dispose()
