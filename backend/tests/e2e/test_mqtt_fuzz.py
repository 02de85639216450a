"""Hostile device input against the real pipeline as separate processes (Mosquitto -> `dtwin bridge` -> Kafka
(Tansu) -> `dtwin serve` -> PostgreSQL + Redis): every hostile payload lands in the dead-letter topic with
its reason, or is stored correctly; a good message published right after each one is processed within
seconds; the same hostile messages produced straight to Kafka (no bridge) are caught by the consumer; and a
churn of 10,000 new machine ids and 10,000 new sensor names keeps the backend's memory bounded."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from dtwin.contracts.telemetry import iso_utc
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.kit.bus import KafkaBus
from dtwin.readings.repository import ReadingRepository
from dtwin_devkit.servers import Server, free_port
from dtwin_devkit.testing import eventually, read_topic
from dtwin_pipeline.mqtt import MqttTarget

from .stack import admin_headers, own_database, processes, stack_env, wait_ready

pytestmark = pytest.mark.slow

# the backend may grow by this much while 10,000 new machines and 10,000 new sensor names arrive: the
# twins themselves (read model, scoring state of 10,000 machines) but nothing proportional to the names
CHURN_RSS_BOUND_MB = 250


def now() -> datetime:
    return datetime.now(UTC)


def body(machine: str, ts: datetime | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "machine_id": machine,
        "machine_type": "fuzz_pump",
        "ts": iso_utc(ts or now()),
        "readings": {"temperature_c": 20.0},
        **extra,
    }


def js(d: object) -> bytes:
    return orjson.dumps(d)


def deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


@dataclass
class Case:
    """One hostile payload: where it is published and which dead-letter codes may answer it."""

    name: str
    machine: str  # the topic's machine segment
    payload: bytes
    codes: set[str]
    topic: str | None = None  # default plant/s1/l1/{machine}/telemetry
    stage: str = "bridge"  # where it is caught (limits that need state are the consumer's)

    @property
    def mqtt_topic(self) -> str:
        return self.topic or f"plant/s1/l1/{self.machine}/telemetry"


def hostile_cases() -> list[Case]:
    t = now()
    reported_2000 = js(body("fz-keys", reported={f"k{i}": 0 for i in range(2000)}))
    deep_reported = js(body("fz-deep", reported={"x": 0})).replace(b'{"x":0}', b'{"x":' + deep(300) + b"}")
    return [
        Case("not json", "fz-json", b'{"schema":1,"machine_id":"fz-json"', {"json"}),
        Case("json array", "fz-array", b"[1,2,3]", {"json"}),
        Case("json string", "fz-string", b'"hello"', {"json"}),
        Case("empty", "fz-empty", b"", {"json"}),
        Case("binary 800 KB", "fz-bin", os.urandom(800_000), {"too_large"}),
        Case("5 MB", "fz-huge", b'{"schema":1,"pad":"' + b"x" * 5_000_000 + b'"}', {"too_large"}),
        Case("NaN", "fz-nan", js(body("fz-nan")).replace(b"20.0", b"NaN"), {"json"}),
        Case("Infinity", "fz-inf", js(body("fz-inf")).replace(b"20.0", b"1e999"), {"json"}),
        Case("1e308", "fz-big", js(body("fz-big", readings={"temperature_c": 1e308})), {"range"}),
        Case(
            "10,000 sensors",
            "fz-many",
            js(body("fz-many", readings={f"s{i}": 1.0 for i in range(10_000)})),
            {"too_large", "too_many_sensors"},
        ),
        Case("reported 300 deep", "fz-deep", deep_reported, {"reported"}),
        Case("2,000 reported keys", "fz-keys", reported_2000, {"reported"}),
        Case("reported key ''", "fz-k1", js(body("fz-k1", reported={"": 1})), {"reported"}),
        Case("path-like key", "fz-k2", js(body("fz-k2", reported={"../../etc": 1})), {"reported"}),
        Case("NUL in reported", "fz-nul", js(body("fz-nul", reported={"mode": "o\x00n"})), {"reported"}),
        Case("int > 64 bit", "fz-int", js(body("fz-int", reported={"n": 2**64 - 1})), {"reported"}),
        Case("NUL in site", "fz-site", js(body("fz-site", site="s\x001")), {"schema"}),
        Case("unicode id", "pümpé-1", js(body("pümpé-1")), {"schema"}),
        Case("path-like id", "..", js(body("../../etc/passwd")), {"schema", "identity"}),
        Case("SQL-like id", "p1';DROP TABLE readings;--", js(body("p1';DROP TABLE readings;--")), {"schema"}),
        Case("far future", "fz-future", js(body("fz-future", ts=t + timedelta(days=365))), {"clock_skew"}),
        Case(
            "clock 290 s fast", "fz-fast", js(body("fz-fast", ts=t + timedelta(seconds=290))), {"clock_skew"}
        ),
        Case("1970", "fz-1970", js(body("fz-1970", ts=datetime(1970, 1, 1, tzinfo=UTC))), {"too_old"}),
        Case("epoch number ts", "fz-epoch", js({**body("fz-epoch"), "ts": int(t.timestamp())}), {"schema"}),
        Case("schema 2", "fz-v2", js({**body("fz-v2"), "schema": 2}), {"invalid"}),
        Case("topic mismatch", "fz-other", js(body("fz-mine")), {"identity"}),
        Case(
            "bad site in topic",
            "fz-topic",
            js(body("fz-topic")),
            {"topic"},
            "plant/s 1;x/l1/fz-topic/telemetry",
        ),
        Case(
            "sensor limit (type has 128)",
            "fz-names",
            js(body("fz-names", machine_type="fuzz_names", readings={f"n{i}": 1.0 for i in range(129)})),
            {"sensor_limit"},
            stage="consumer",
        ),
    ]


@pytest.fixture
def stack(servers: dict[str, Server], uid: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    name = f"fuzz{uid}"
    port = free_port()
    # its own database and topics: its 10,000 churn twins must not reach other tests' rebuilds
    with own_database(servers, name) as url:
        env = stack_env(servers, url, name, port, tmp_path)
        with processes(env, tmp_path, {"backend": ["serve"], "bridge": ["bridge"]}) as procs:
            yield {"env": env, "base": f"http://127.0.0.1:{port}", "logs": tmp_path, "procs": procs}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def test_hostile_device_input_is_dead_lettered_and_good_input_keeps_flowing(
    stack: dict[str, Any],
) -> None:
    env, base = stack["env"], stack["base"]
    target = MqttTarget.from_url(env["DTWIN_MQTT_URL"])
    headers = await admin_headers(env)
    async with httpx.AsyncClient(base_url=base, timeout=10, headers=headers) as http, target.client() as mqtt:
        await wait_ready(http, stack["logs"])

        async def twin(machine: str) -> dict[str, Any] | None:
            r = await http.get(f"/api/v1/twins/{machine}")
            return r.json() if r.status_code == 200 else None  # type: ignore[no-any-return]

        async def publish(topic: str, payload: bytes) -> None:
            await mqtt.publish(topic, payload, qos=1)

        async def good_after(k: int, what: str) -> None:
            machine = f"ok-{k}"
            await publish(f"plant/s1/l1/{machine}/telemetry", js(body(machine, readings={"load": float(k)})))

            async def arrived() -> bool:
                t = await twin(machine)
                return t is not None and t["readings"] == {"load": float(k)}

            await eventually(arrived, timeout=20, what=f"a good message processed after {what!r}")

        # the sensor-limit case needs a type that already has 128 sensor names
        fill = body("fz-names", machine_type="fuzz_names", readings={f"n{i}": 1.0 for i in range(128)})
        await publish("plant/s1/l1/fz-names/telemetry", js(fill))
        await eventually(lambda: twin("fz-names"), timeout=30, what="the type with 128 sensor names")

        cases = hostile_cases()
        for k, case in enumerate(cases):
            await publish(case.mqtt_topic, case.payload)
            await good_after(k, case.name)

        await _stored_cases(publish, twin, good_after, len(cases), env)

        # the same kind of hostile messages produced straight to Kafka: the consumer applies the contract too
        direct = await _produce_direct(env)
        await good_after(len(cases) + 100, "direct Kafka producer")

        dlq = await read_topic(
            env["DTWIN_KAFKA_BOOTSTRAP"],
            env["DTWIN_TOPIC_DLQ"],
            at_least=len(cases) + len(direct),
            timeout=60,
        )
        records = [orjson.loads(r.value) for r in dlq]  # type: ignore[attr-defined]
        by_hash = {r["payload_sha256"]: r for r in records}
        for case in cases:
            record = by_hash.get(hashlib.sha256(case.payload).hexdigest())
            assert record is not None, f"{case.name}: not in the DLQ"
            assert record["code"] in case.codes, f"{case.name}: {record['code']} {record['reason']}"
            assert record["stage"] == case.stage and record["reason"], case.name
            assert record["payload_bytes"] == len(case.payload)
            assert len(orjson.dumps(record)) < 16 * 1024  # bounded whatever was sent
        for payload, codes in direct:
            record = by_hash[hashlib.sha256(payload).hexdigest()]
            assert record["stage"] == "consumer" and record["code"] in codes, record
        for case in cases:  # nothing of a rejected message reached a twin
            if case.machine.startswith("fz-") and case.machine != "fz-names":
                assert await twin(case.machine) is None, case.name

        await _churn(stack, publish, http)
        assert (await http.get("/readyz")).status_code == 200


async def _stored_cases(
    publish: Callable[[str, bytes], Any],
    twin: Callable[[str], Any],
    good_after: Callable[[int, str], Any],
    k0: int,
    env: dict[str, str],
) -> None:
    """Replays, out-of-order and conflicting messages are stored correctly (not dead-lettered)."""
    t = now().replace(microsecond=0) - timedelta(seconds=30)
    topic = "plant/s1/l1/fz-order/telemetry"
    newer = js(body("fz-order", ts=t + timedelta(seconds=2), readings={"load": 2.0}))
    older = js(body("fz-order", ts=t, readings={"load": 1.0}))
    first = js(body("fz-order", ts=t + timedelta(seconds=1), readings={"load": 5.0}))
    conflicting = js(body("fz-order", ts=t + timedelta(seconds=1), readings={"load": 6.0}))
    for payload in (newer, newer, older, first, conflicting, newer):  # replays, out of order, a conflict
        await publish(topic, payload)
    await good_after(k0, "replays and out-of-order")
    doc = await twin("fz-order")
    assert doc["readings"] == {"load": 2.0}
    assert datetime.fromisoformat(doc["ts"]) == t + timedelta(seconds=2)
    engine = create_engine(env["DTWIN_DATABASE_URL"])
    try:
        async with create_sessionmaker(engine)() as s:
            rows = await ReadingRepository(s).recent(
                "fz-order", sensor="load", start=None, end=None, limit=10
            )
    finally:
        await engine.dispose()
    # each instant once; of the two values stamped t+1 s the first received stays, as in the twin's history
    assert [(r.ts, r.value) for r in rows] == [
        (t, 1.0),
        (t + timedelta(seconds=1), 5.0),
        (t + timedelta(seconds=2), 2.0),
    ]


async def _produce_direct(env: dict[str, str]) -> list[tuple[bytes, set[str]]]:
    """Hostile messages straight onto the telemetry topic (a producer that is not the bridge)."""
    t = now()
    cases = [
        (js(body("dk-1", ts=t + timedelta(seconds=290))), {"clock_skew"}),
        (js(body("dk-2", readings={"temperature_c": 1e308})), {"range"}),
        (js(body("dk-3", reported={f"k{i}": 0 for i in range(2000)})), {"reported"}),
        (js(body("dk-4", reported={"x": 0})).replace(b'{"x":0}', b'{"x":' + deep(300) + b"}"), {"reported"}),
        (js(body("dk-5", ts=t - timedelta(days=60))), {"too_old"}),
    ]
    bus = KafkaBus(env["DTWIN_KAFKA_BOOTSTRAP"], acks="all")
    await bus.start()
    try:
        for k, (payload, _) in enumerate(cases):
            await bus.produce(env["DTWIN_TOPIC_TELEMETRY"], payload, key=f"dk-{k + 1}".encode())
        bad_header = js(body("dk-6"))
        await bus.produce(
            env["DTWIN_TOPIC_TELEMETRY"], bad_header, key=b"dk-6", headers={"site": "../..", "line": "l1"}
        )
        cases.append((bad_header, {"placement"}))
        await bus.flush()
    finally:
        await bus.stop()
    return cases


async def _churn(
    stack: dict[str, Any], publish: Callable[[str, bytes], Any], http: httpx.AsyncClient
) -> None:
    """10,000 new machine ids, then 10,000 new sensor names: the backend's RSS stays under the bound."""
    pid = stack["procs"]["backend"].pid
    before = rss_mb(pid)
    for i in range(10_000):
        m = f"churn-{i}"
        readings = {"temperature_c": 20.0 + i % 7, "load": float(i % 13)}
        await publish(f"plant/s1/l1/{m}/telemetry", js(body(m, machine_type="churn_type", readings=readings)))
    for k in range(40):  # 250 new names each: 10,000 names for one type
        names = {f"x{k}_{j}": 1.0 for j in range(250)}
        await publish("plant/s1/l1/churn-names/telemetry", js(body("churn-names", readings=names)))

    async def all_there() -> bool:
        r = await http.get("/api/v1/twins", params={"machine_type": "churn_type", "limit": 1})
        return r.status_code == 200 and r.json()["count"] == 10_000

    await eventually(all_there, timeout=180, interval=1, what="10,000 churn twins")
    await asyncio.sleep(2)  # a scoring pass and a read-model update over them
    after = rss_mb(pid)
    print(f"\nbackend RSS: {before:.0f} MB before the churn, {after:.0f} MB after (+{after - before:.0f} MB)")
    assert after - before < CHURN_RSS_BOUND_MB, (
        f"RSS grew {after - before:.0f} MB (bound {CHURN_RSS_BOUND_MB})"
    )
