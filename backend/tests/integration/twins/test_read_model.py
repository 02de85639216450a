"""The fleet read model (each backend process's in-memory copy, kept current from the change stream) answers
`GET /api/v1/twins` exactly as reading every twin from Redis would, after every kind of change, and a second
backend started later agrees too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis

from dtwin.config import Settings
from dtwin.contracts.changes import AnalyticsChange, TwinsMessage, TwinUpdate
from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import RedisKeys
from dtwin.main import create_app
from dtwin.twins.service import TwinService
from dtwin.twins.store import TwinStore
from dtwin_devkit.testing import eventually, serve_app
from tests.factories.twins import twin_update

T0 = datetime.now(UTC).replace(microsecond=0)


def update(machine_id: str, k: int, **readings: float) -> TwinUpdate:
    return twin_update(
        machine_id,
        at=T0 + timedelta(seconds=k),
        readings=readings or {"speed_rpm": float(k)},
        line=f"l{k % 2}",
    )


def comparable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in t.items() if k != "status"} for t in items]


async def test_read_model_matches_redis_after_every_kind_of_change(
    real_settings: Settings, real_redis: aioredis.Redis, admin_headers: dict[str, str]
) -> None:
    store = TwinStore(real_redis, RedisKeys(real_settings.redis_prefix))
    direct = TwinService(store)
    now = iso_utc(datetime.now(UTC))
    await store.apply([update(f"p-{i}", 1) for i in range(20)], now)  # before the backend starts
    async with (
        serve_app(create_app(real_settings)) as url,
        httpx.AsyncClient(base_url=f"http://{url}", headers=admin_headers) as http,
    ):
        await store.apply([update(f"p-{i}", 2, speed_rpm=2.0, temp_c=40.0 + i) for i in range(0, 20, 2)], now)
        await store.apply([update("p-1", 0, speed_rpm=-1.0)], now)  # late: changes nothing
        assert (await http.post("/api/v1/twins", json={"id": "new-1", "site": "s2"})).status_code == 201
        r = await http.patch(
            "/api/v1/twins/p-3/desired",
            json={"speed_rpm": 1500},
            headers={"content-type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text
        assert (
            await http.put("/api/v1/twins/p-5/attributes", json={"attributes": {"vendor": "ACME"}})
        ).status_code == 200
        assert (await http.delete("/api/v1/twins/p-7")).status_code == 204
        await store.stream.emit(
            TwinsMessage(items=[AnalyticsChange(id="p-9", health=12.5, anomaly_score=0.9, strategy=None)])
        )
        await real_redis.hset(store.keys.twin("p-9"), mapping={"health": "12.5", "anomaly_score": "0.9"})

        async def same() -> bool:
            served = (await http.get("/api/v1/twins", params={"sort": "id"})).json()["items"]
            truth = (await direct.list(sort="id")).model_dump(mode="json")["items"]
            a, b = comparable(served), comparable(truth)
            diff = [(x, y) for x, y in zip(a, b, strict=False) if x != y]
            assert len(a) == len(b) and not diff, diff[:1]
            return True

        await eventually(same, timeout=10, what="read model equal to Redis")
        served = {t["id"]: t for t in (await http.get("/api/v1/twins")).json()["items"]}
        assert "p-7" not in served and "new-1" in served
        assert served["p-3"]["delta"] == {"speed_rpm": 1500}
        assert served["p-5"]["attributes"] == {"vendor": "ACME"}
        assert served["p-1"]["readings"] == {"speed_rpm": 1.0}
        assert served["p-9"]["health"] == 12.5
        low = (await http.get("/api/v1/twins", params={"health_lt": 50})).json()
        assert [t["id"] for t in low["items"]] == ["p-9"]

        # a backend started now loads the same fleet
        async with (
            serve_app(create_app(real_settings)) as url2,
            httpx.AsyncClient(base_url=f"http://{url2}", headers=admin_headers) as http2,
        ):
            other = (await http2.get("/api/v1/twins", params={"sort": "id"})).json()["items"]
            mine = (await http.get("/api/v1/twins", params={"sort": "id"})).json()["items"]
            assert comparable(other) == comparable(mine)
