"""A whole twin published after an operator or device change (`emit_twins`) is never older than a telemetry
change published before it: clients drop changes older than what they hold, and would lose the news (a device's
command ack, say) if a copy read just before a telemetry update went out after it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis.asyncio as aioredis

from dtwin.config import Settings
from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import RedisKeys
from dtwin.twins.store import TwinStore
from tests.factories.twins import twin_update

T0 = datetime.now(UTC).replace(microsecond=0)


def update(k: int, speed: float) -> TwinUpdate:
    return twin_update("p-1", at=T0 + timedelta(seconds=k), readings={"speed_rpm": speed})


async def test_whole_twin_is_as_new_as_telemetry_published_before_it(
    real_settings: Settings, real_redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = RedisKeys(real_settings.redis_prefix)
    store = TwinStore(real_redis, keys)
    now = iso_utc(datetime.now(UTC))
    await store.apply([update(1, 1.0)], now)
    created = (await store.get("p-1") or {})["version"]

    read = store._hgetall_many
    raced = False

    async def telemetry_lands_after_the_read(machine_ids: Sequence[str]) -> list[dict[bytes, bytes]]:
        nonlocal raced
        raws = await read(machine_ids)
        if not raced:
            raced = True
            await store.apply([update(2, 7.0)], now)
        return raws

    monkeypatch.setattr(store, "_hgetall_many", telemetry_lands_after_the_read)
    before = await store.stream.current_seq()
    await store.emit_twins(["p-1"])

    entries = await real_redis.xrange(keys.change_log, min=f"{before + 1}-0")
    items = [item for _, fields in entries for item in orjson.loads(fields[b"m"])["items"]]
    assert [item["kind"] for item in items] == ["reported", "twin"]
    assert items[0]["version"] == created + 1
    assert items[1]["version"] == created + 1
    assert items[1]["readings"]["speed_rpm"] == 7.0
