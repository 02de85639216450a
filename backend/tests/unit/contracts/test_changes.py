"""The change-stream contract: one encoder/decoder, schemas that agree with the REST ones, bad entries refused
with a clear error, and the Redis stream that carries it."""

from __future__ import annotations

import time
import typing

import fakeredis
import msgspec
import pytest

from dtwin.anomalies.schemas import AnomalyEventRead, DecisionRead
from dtwin.contracts import changes
from dtwin.contracts.topics import RedisKeys
from dtwin.core.change_stream import ChangeStream, seq_floor
from dtwin.realtime.schemas import ChangeField


def test_subscription_fields_are_the_partial_members() -> None:
    members = {m for kind in changes.PARTIAL_MEMBERS.values() for m in kind}
    assert set(typing.get_args(ChangeField)) == members


@pytest.mark.parametrize(
    ("contract", "rest"),
    [(changes.AnomalyEventChange, AnomalyEventRead), (changes.DecisionChange, DecisionRead)],
)
def test_stream_items_have_the_rest_shape(contract: type[msgspec.Struct], rest: type) -> None:
    assert set(contract.__struct_fields__) == set(rest.model_fields)


def test_round_trip_and_wire_form() -> None:
    msg = changes.TwinsMessage(
        seq=7,
        items=[
            changes.ReportedChange(
                id="m",
                version=2,
                ts="2026-11-23T10:00:00.000Z",
                last_seen="2026-11-23T10:00:00.100Z",
                quality="good",
                readings={"t": 1.5},
            ),
            changes.AnalyticsChange(id="m", health=None, anomaly_score=0.5, strategy=None),
            changes.RemovedChange(id="x"),
        ],
    )
    raw = changes.encode(msg)
    # absent placement and empty settings are not sent; analytics members always are (null clears)
    assert b'"site"' not in raw and b'"reported":' not in raw and b'"strategy":null' in raw
    assert changes.decode(raw) == msg
    assert msg.type == "twins" and [c.kind for c in msg.items] == ["reported", "analytics", "removed"]


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"seq": 1, "type": "nope", "items": []}',
        b'{"seq": 1, "type": "twins", "items": [{"kind": "reported", "id": "m"}]}',  # no version, ts...
        b'{"seq": 1, "type": "twins", "items": [{"kind": "analytics", "id": "m", "health": "high",'
        b' "anomaly_score": 0, "strategy": null}]}',
    ],
)
def test_bad_entries_are_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(changes.ChangeDecodeError, match="change-stream message"):
        changes.decode(raw)


async def test_stream_assigns_seq_and_replays_in_order() -> None:
    redis = fakeredis.FakeAsyncRedis()
    stream = ChangeStream(redis, RedisKeys("t"), log_max=3)
    floor = seq_floor()
    first = await stream.emit(changes.TwinsMessage(items=[changes.RemovedChange(id="m0")]))
    assert first > floor  # a new counter starts at the floor, so seqs never go backwards after a loss
    for k in range(1, 5):
        seq = await stream.emit(changes.TwinsMessage(items=[changes.RemovedChange(id=f"m{k}")]))
        assert seq == first + k
    assert await stream.current_seq() == first + 4
    replay = await stream.after(first + 1, limit=10)
    assert replay is not None
    assert [(m.seq - first, m.items[0].id) for m in replay] == [(2, "m2"), (3, "m3"), (4, "m4")]
    assert await stream.after(first - 1, limit=10) is None  # trimmed away: start again from a snapshot
    assert await stream.after(first + 4, limit=10) == []


async def test_seqs_go_on_above_the_old_ones_after_redis_lost_the_counter() -> None:
    redis = fakeredis.FakeAsyncRedis()
    stream = ChangeStream(redis, RedisKeys("t"))
    before = await stream.emit(changes.TwinsMessage(items=[changes.RemovedChange(id="m")]))
    await redis.flushall()
    time.sleep(0.001)
    after = await stream.emit(changes.TwinsMessage(items=[changes.RemovedChange(id="m")]))
    assert after > before
