"""Desired state against the real stack: API PATCH -> Kafka twin.desired -> bridge -> MQTT -> simulated device
-> ack + reported telemetry -> bridge -> Kafka -> backend: the delta appears, then clears, the command shows
the device's answer; versions and If-Match behave."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from dtwin.config import Settings
from dtwin.main import create_app
from dtwin_devkit.testing import eventually, serve_app
from dtwin_pipeline.bridge.service import Bridge, BridgeConfig
from dtwin_pipeline.mqtt import MqttTarget
from dtwin_pipeline.simulator.runner import SimulatorConfig, run_mqtt_simulator

from ..factories.auth import bearer, token_from_settings

pytestmark = pytest.mark.slow
MERGE = {"content-type": "application/merge-patch+json"}


def bridge_for(s: Settings, uid: str) -> Bridge:
    """A bridge on the test's topics, for the devices of site `uid`."""
    return Bridge(
        BridgeConfig(
            mqtt=MqttTarget.from_url(s.mqtt_url),
            kafka_bootstrap=s.kafka_bootstrap or "",
            topic_telemetry=s.topic_telemetry,
            topic_dlq=s.topic_dlq,
            topic_desired=s.topic_desired,
            topic_acks=s.topic_acks,
            partitions=3,
            telemetry_filter=f"plant/{uid}/+/+/telemetry",
            ack_filter=f"plant/{uid}/+/+/ack",
            shared_group=f"g{uid}",
            client_id=f"b-{uid}",
            command_group=f"c-{uid}",
        )
    )


def one_pump(uid: str, id_offset: int) -> SimulatorConfig:
    """One simulated pump at site `uid` (its id: pump-<id_offset + 1>), 4 messages a second for 2 minutes."""
    return SimulatorConfig(
        machines=1,
        types=["centrifugal_pump"],
        rate_hz=4,
        duration_s=120,
        site_lines=[(uid, ["l1"])],
        id_offset=id_offset,
    )


async def test_delta_appears_and_clears_when_the_device_reports(real_settings: Settings, uid: str) -> None:
    s = real_settings
    machine = "pump-6001"
    bridge = bridge_for(s, uid)
    sim_cfg = one_pump(uid, 6000)
    async with serve_app(create_app(s)) as base:
        tasks = [
            asyncio.create_task(bridge.run()),
            asyncio.create_task(run_mqtt_simulator(sim_cfg, s.mqtt_url, client_id=f"sim-{uid}")),
        ]
        try:
            headers = bearer(await token_from_settings(s))
            async with httpx.AsyncClient(base_url=f"http://{base}", headers=headers) as client:

                async def registered() -> dict[str, object]:
                    r = await client.get(f"/api/v1/twins/{machine}")
                    return r.json() if r.status_code == 200 and r.json()["reported"] else {}

                twin = await eventually(registered, timeout=60, what="device registered by telemetry")
                assert twin["site"] == uid and twin["reported"]["mode"] == "on"  # type: ignore[index]
                v0 = int(twin["version"])  # type: ignore[arg-type]

                r = await client.patch(
                    f"/api/v1/twins/{machine}/desired",
                    headers={**MERGE, "if-match": '"0"'},
                    content=b'{"mode": "standby", "speed_setpoint_rpm": 2200}',
                )
                assert r.status_code == 200, r.text
                assert r.json()["delta"] == {"mode": "standby", "speed_setpoint_rpm": 2200}
                stale = await client.patch(
                    f"/api/v1/twins/{machine}/desired",
                    headers={**MERGE, "if-match": '"0"'},
                    content=b'{"mode": "off"}',
                )
                assert stale.status_code == 412
                assert stale.headers["content-type"] == "application/problem+json"

                async def converged() -> dict[str, object]:
                    d = (await client.get(f"/api/v1/twins/{machine}/desired")).json()
                    return d if not d["delta"] and d["command"]["status"] == "accepted" else {}

                state = await eventually(converged, timeout=60, what="device applied and reported the change")
                assert state["command"]["applied"] == {"mode": "standby", "speed_setpoint_rpm": 2200}  # type: ignore[index]
                after = (await client.get(f"/api/v1/twins/{machine}")).json()
                assert after["reported"]["mode"] == "standby" and after["version"] > v0
                # null deletes a member (RFC 7396); the device keeps its setting, so nothing new is pending
                r = await client.patch(
                    f"/api/v1/twins/{machine}/desired",
                    headers={**MERGE, "if-match": '"1"'},
                    content=b'{"speed_setpoint_rpm": null}',
                )
                assert r.json()["desired"] == {"mode": "standby"} and r.json()["version"] == 2
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t


async def test_a_rebooted_device_gets_the_retained_desired_state_without_a_new_patch(
    real_settings: Settings, uid: str
) -> None:
    """PATCH, the device converges, then the device (the simulator process) restarts at its defaults: the
    broker hands it the retained desired document on subscribe, it applies and acknowledges it again, and the
    twin converges with no new PATCH. The reconciler is off, so this is the retained message alone."""
    s = real_settings.model_copy(update={"reconcile_enabled": False})
    machine = "pump-6101"
    bridge = bridge_for(s, uid)
    sim_cfg = one_pump(uid, 6100)

    def device() -> asyncio.Task[object]:
        return asyncio.create_task(run_mqtt_simulator(sim_cfg, s.mqtt_url, client_id=f"sim-{uid}"))

    async with serve_app(create_app(s)) as base:
        tasks: list[asyncio.Task[object]] = [asyncio.create_task(bridge.run()), device()]
        try:
            headers = bearer(await token_from_settings(s))
            async with httpx.AsyncClient(base_url=f"http://{base}", headers=headers) as client:

                async def desired() -> dict[str, object]:
                    return dict((await client.get(f"/api/v1/twins/{machine}/desired")).json())

                async def registered() -> bool:
                    r = await client.get(f"/api/v1/twins/{machine}")
                    return r.status_code == 200 and bool(r.json()["reported"])

                async def converged() -> dict[str, object]:
                    d = await desired()
                    return d if not d["delta"] and d["command"]["status"] == "accepted" else {}  # type: ignore[index]

                await eventually(registered, timeout=60, what="device registered by telemetry")
                r = await client.patch(f"/api/v1/twins/{machine}/desired", json={"mode": "standby"})
                assert r.status_code == 200, r.text
                first = await eventually(converged, timeout=60, what="device applied and reported the change")
                first_ack = str(first["command"]["ts"])  # type: ignore[index]

                tasks[1].cancel()  # the device goes away ...
                with contextlib.suppress(BaseException):
                    await tasks[1]
                tasks[1] = device()  # ... and boots again at its defaults

                async def reapplied() -> dict[str, object]:
                    # a new ack: the rebooted device applied version 1 afresh (one that still knew it would
                    # answer a re-delivery with its earlier ack, earlier `ts` included)
                    d = await converged()
                    return d if d and str(d["command"]["ts"]) > first_ack else {}  # type: ignore[index]

                state = await eventually(reapplied, timeout=60, what="retained desired state re-applied")
                twin = (await client.get(f"/api/v1/twins/{machine}")).json()
                assert twin["reported"]["mode"] == "standby"
                assert state["version"] == 1  # no new PATCH
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
