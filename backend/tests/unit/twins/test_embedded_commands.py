"""In embedded mode (`dtwin demo`) the in-process simulator obeys desired state like a real device."""

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dtwin.config import Settings
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin


async def test_desired_state_converges_with_the_embedded_simulator(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        frontend_dist=None,
        simulator_machines=3,
        simulator_rate_hz=5,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        await as_admin(app, "http://t") as client,
    ):

        async def online() -> bool:
            return (await client.get("/api/v1/twins/pump-0001")).status_code == 200

        await eventually(online, what="simulated pump registered")
        before = (await client.get("/api/v1/twins/pump-0001")).json()["reported"]
        assert before["mode"] == "on"
        r = await client.patch(
            "/api/v1/twins/pump-0001/desired",
            json={"speed_setpoint_rpm": 2400, "mode": "standby", "turbo": True},
        )
        assert r.json()["command"]["status"] == "pending"
        assert r.json()["delta"] == {"speed_setpoint_rpm": 2400, "mode": "standby", "turbo": True}

        async def answered() -> dict[str, object]:
            d = (await client.get("/api/v1/twins/pump-0001/desired")).json()
            return d if d["command"]["status"] != "pending" and "mode" not in d["delta"] else {}

        state = await eventually(answered, what="device answered and reported")
    assert state["command"]["status"] == "partial"  # type: ignore[index]
    assert "turbo" in state["command"]["rejected"]  # type: ignore[index]
    assert state["delta"] == {"turbo": True}  # what the device refused stays in the delta


SETTLE_SCENARIO = """
name: settle
description: an air compressor an operator re-sets, and a motor that seizes (the control)
seed: 11
rate_hz: 5
fleet:
  air_compressor: 1
  induction_motor: 1
sites:
  - name: site-1
    lines: [line-1]
faults:
  - {kind: seizure, machine: motor-0002, start_s: 30, end_s: 86400}
"""


@pytest.mark.slow
async def test_commanded_setpoint_change_raises_no_anomaly(tmp_path: Path) -> None:
    """The reported case: the discharge pressure setpoint lowered by 0.6 bar moves the compressor to a new
    steady state; through the settling window (120 s for this type) and a margin after it, no anomaly event
    for it, while the seizing motor next to it still raises one (detection is live)."""
    scenario = tmp_path / "settle.yaml"
    scenario.write_text(SETTLE_SCENARIO)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        frontend_dist=None,
        simulator_scenario=scenario,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        await as_admin(app, "http://t") as client,
    ):

        async def warm() -> dict[str, Any]:
            r = await client.get("/api/v1/twins/aircomp-0001")
            ok = r.status_code == 200 and r.json()["health"] is not None
            return r.json()["reported"] if ok else {}

        reported = await eventually(warm, timeout=60, what="compressor scored")
        target = round(float(reported["pressure_setpoint_bar"]) - 0.6, 1)
        r = await client.patch("/api/v1/twins/aircomp-0001/desired", json={"pressure_setpoint_bar": target})
        assert r.status_code == 200

        async def applied() -> bool:
            d = (await client.get("/api/v1/twins/aircomp-0001/desired")).json()
            return bool(d["command"]["status"] == "accepted")

        await eventually(applied, what="compressor applied the setpoint")

        async def events(machine_id: str) -> list[dict[str, Any]]:
            r = await client.get(f"/api/v1/twins/{machine_id}/anomalies")
            items: list[dict[str, Any]] = r.json()["items"]
            return items

        await eventually(lambda: events("motor-0002"), timeout=60, what="the seizure's anomaly event")
        deadline = asyncio.get_running_loop().time() + 120 + 20  # the window, then a margin
        while asyncio.get_running_loop().time() < deadline:
            assert await events("aircomp-0001") == []
            await asyncio.sleep(2)
        pressure = (await client.get("/api/v1/twins/aircomp-0001")).json()["readings"][
            "discharge_pressure_bar"
        ]
    assert abs(pressure - target) < 0.5  # it did move to the new setpoint
