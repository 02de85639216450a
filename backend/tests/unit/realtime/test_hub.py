import asyncio
from typing import Any

import orjson

from dtwin.contracts import changes
from dtwin.contracts.changes import ChangeMessage, TwinChange
from dtwin.realtime.hub import Client, Hub, Item, StreamFilter, Subscription, merge_pending
from dtwin.twins.store import decode_twin
from dtwin.twins.view import FleetView


def message(body: dict[str, Any]) -> ChangeMessage:
    return changes.decode(orjson.dumps(body))


def change(body: dict[str, Any]) -> TwinChange:
    msg = message({"seq": 1, "type": "twins", "items": [body]})
    assert isinstance(msg, changes.TwinsMessage)
    return msg.items[0]


def whole_twin(machine_id: str, version: int, **fields: Any) -> dict[str, Any]:
    return {"kind": "twin", **decode_twin(machine_id, {}), "version": version, **fields}


def reported(seq: int, machine_id: str, version: int, **readings: float) -> ChangeMessage:
    return message(reported_body(seq, machine_id, version, **readings))


def reported_body(seq: int, machine_id: str, version: int, **readings: float) -> dict[str, Any]:
    item = {
        "kind": "reported",
        "id": machine_id,
        "machine_type": "pump" if machine_id.startswith("pump") else "fan",
        "site": "s1",
        "line": "l1",
        "ts": f"2026-11-23T10:00:{version:02d}.000Z",
        "last_seen": f"2026-11-23T10:00:{version:02d}.100Z",
        "quality": "good",
        "version": version,
        "readings": readings,
        "reported": {},
    }
    return {"seq": seq, "type": "twins", "items": [item]}


def drain(c: Client) -> list[dict[str, Any]]:
    out = []
    while not c.queue.empty():
        text = c.queue.get_nowait()
        assert text is not None
        out.append(orjson.loads(text))
    return out


def test_slow_client_is_dropped_when_its_buffer_fills() -> None:
    c = Client(asyncio.Queue(3), FleetView())
    for i in range(3):
        c.offer(f"m{i}")
    assert not c.dropped.is_set()
    c.offer("m3")
    assert c.dropped.is_set()
    assert c.queue.empty()  # nothing more is sent; the connection closes with 4008
    c.offer("m4")
    assert c.queue.empty()


def test_filters_use_the_view_for_changes_without_placement() -> None:
    view = FleetView()
    hub = Hub(view)
    c = hub.register()
    c.subs["pumps"] = Subscription("pumps", "twins", StreamFilter(machine_type="pump"), None)
    c.subs["one"] = Subscription("one", "twins", StreamFilter(machine_ids=frozenset({"fan-1"})), None)
    for msg in (reported(1, "pump-1", 1, t=1.0), reported(2, "fan-1", 1, t=2.0)):
        hub.dispatch(msg)
        view.apply(msg)
    analytics = {
        "seq": 3,
        "type": "twins",
        "items": [
            {"kind": "analytics", "id": "pump-1", "health": 80.0, "anomaly_score": 0.1, "strategy": None}
        ],
    }
    hub.dispatch(message(analytics))
    got = [(m["sub"], m["seq"], [i["id"] for i in m["items"]]) for m in drain(c)]
    assert got == [("pumps", 1, ["pump-1"]), ("one", 2, ["fan-1"]), ("pumps", 3, ["pump-1"])]
    alert = {
        "id": 1,
        "machine_id": "pump-1",
        "machine_type": "pump",
        "ts": "2026-11-23T10:00:01.000Z",
        "kind": "spike",
        "started_at": "2026-11-23T10:00:01.000Z",
        "score": 0.9,
        "peak_score": 0.9,
        "threshold": 0.5,
        "detector": "z",
        "explanation": [],
    }
    hub.dispatch(message({"seq": 4, "type": "alerts", "items": [alert]}))  # no alerts sub
    assert drain(c) == []


async def test_rate_cap_coalesces_to_the_latest_value_per_machine() -> None:
    view = FleetView()
    hub = Hub(view)
    c = hub.register()
    c.subs["fleet"] = Subscription("fleet", "twins", StreamFilter(), max_rate_hz=10)
    flusher = asyncio.create_task(c.run_flusher())
    try:
        hub.dispatch(reported(1, "pump-1", 1, t=1.0, p=5.0))
        first = drain(c)
        assert [m["seq"] for m in first] == [1]  # the first change goes at once
        for k in range(2, 40):
            hub.dispatch(reported(k, "pump-1", k, t=float(k)))
        hub.dispatch(reported(40, "fan-1", 1, t=0.5))
        assert drain(c) == []  # within the 100 ms window: held, coalesced
        await asyncio.sleep(0.15)
        (msg,) = drain(c)
        assert msg["seq"] == 40
        by_id = {i["id"]: i for i in msg["items"]}
        assert by_id["pump-1"]["readings"] == {"t": 39.0}
        assert by_id["pump-1"]["version"] == 39
        assert by_id["fan-1"]["readings"] == {"t": 0.5}
    finally:
        flusher.cancel()


def test_pending_merges_readings_and_a_whole_twin_supersedes() -> None:
    pending: dict[tuple[str, str], Item] = {}
    merge_pending(pending, change(reported_body(1, "m", 1, a=1.0, b=2.0)["items"][0]))
    merge_pending(pending, change({**reported_body(2, "m", 2, b=3.0)["items"][0], "machine_type": None}))
    merged = pending[("m", "reported")]
    assert isinstance(merged, changes.ReportedChange)
    assert merged.readings == {"a": 1.0, "b": 3.0}
    assert merged.machine_type == "fan"  # the placement an earlier change carried stays
    assert merged.version == 2
    merge_pending(
        pending,
        change({"kind": "analytics", "id": "m", "health": 50.0, "anomaly_score": 0.1, "strategy": None}),
    )
    assert len(pending) == 2
    merge_pending(pending, change(whole_twin("m", 3)))
    assert list(pending) == [("m", "twin")]
    merge_pending(pending, change({"kind": "removed", "id": "m"}))
    assert list(pending) == [("m", "removed")]


def test_fields_project_partial_changes_and_keep_whole_twins() -> None:
    view = FleetView()
    hub = Hub(view)
    c = hub.register()
    slim = frozenset({"last_seen", "health"})
    c.subs["slim"] = Subscription("slim", "twins", StreamFilter(), None, fields=slim)
    c.subs["full"] = Subscription("full", "twins", StreamFilter(), None)
    other = hub.register()
    other.subs["slim"] = Subscription("slim", "twins", StreamFilter(), None, fields=slim)
    hub.dispatch(reported(1, "pump-1", 7, t=1.0))
    analytics = {
        "kind": "analytics",
        "id": "pump-1",
        "health": None,
        "anomaly_score": None,
        "strategy": "stable_growth",
    }
    hub.dispatch(message({"seq": 2, "type": "twins", "items": [analytics]}))
    whole = whole_twin("pump-1", 8, readings={"t": 1.0})
    hub.dispatch(message({"seq": 3, "type": "twins", "items": [whole]}))
    got = [(m["sub"], m["seq"], m["items"]) for m in drain(c)]
    assert got == [
        (
            "slim",
            1,
            [{"kind": "reported", "id": "pump-1", "version": 7, "last_seen": "2026-11-23T10:00:07.100Z"}],
        ),
        # the wire form omits what a reported change does not carry (no reported settings changed)
        (
            "full",
            1,
            [{k: v for k, v in reported_body(1, "pump-1", 7, t=1.0)["items"][0].items() if k != "reported"}],
        ),
        # an analytics change always carries all three members: the slim subscription gets its health
        ("slim", 2, [{"kind": "analytics", "id": "pump-1", "health": None}]),
        ("full", 2, [analytics]),
        ("slim", 3, [whole]),
        ("full", 3, [whole]),
    ]
    assert [m["items"] for m in drain(other)] == [got[0][2], got[2][2], [whole]]


async def test_fields_project_coalesced_changes() -> None:
    c = Client(asyncio.Queue(10), FleetView())
    s = Subscription("fleet", "twins", StreamFilter(), max_rate_hz=10, fields=frozenset({"last_seen"}))
    c.subs["fleet"] = s
    c.deliver(reported(1, "m", 1, t=1.0), {})
    for k in (2, 3):
        c.deliver(reported(k, "m", k, t=float(k)), {})
    first, second = drain(c), (c.flush(s), drain(c))[1]
    assert first[0]["items"] == [
        {"kind": "reported", "id": "m", "version": 1, "last_seen": "2026-11-23T10:00:01.100Z"}
    ]
    assert second[0]["seq"] == 3
    assert second[0]["items"] == [
        {"kind": "reported", "id": "m", "version": 3, "last_seen": "2026-11-23T10:00:03.100Z"}
    ]


def test_view_applies_changes_by_version() -> None:
    view = FleetView()
    view.load([], 0)
    view.apply(reported(1, "m", 2, t=2.0))
    view.apply(reported(2, "m", 1, t=1.0))  # older version: already reflected
    assert view.twins["m"]["readings"] == {"t": 2.0}
    assert view.seq == 2
    twin = {**view.twins["m"], "version": 5, "desired": {"t": 9.0}, "delta": {"t": 9.0}}
    view.apply(message({"seq": 3, "type": "twins", "items": [{"kind": "twin", **twin}]}))
    view.apply(reported(4, "m", 6, t=9.0))
    assert view.twins["m"]["delta"] == {}
    view.apply(message({"seq": 5, "type": "twins", "items": [{"kind": "removed", "id": "m"}]}))
    assert view.twins == {}
