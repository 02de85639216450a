"""A simulated device that reboots (embedded mode: the in-process simulator started again, its machines back at
their defaults) gets its desired state back without a new PATCH: the reconciler re-sends what it no longer
reports, and the command converges again."""

from pathlib import Path
from typing import Any

from dtwin.config import Settings
from dtwin.kit.feeders import load_feeder
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin


async def test_a_restarted_simulator_gets_the_desired_state_back_without_a_new_patch(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        frontend_dist=None,
        simulator_machines=3,
        simulator_rate_hz=5,
        reconcile_interval_s=0.1,
        reconcile_resend_after_s=1.0,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        await as_admin(app, "http://t") as client,
    ):

        async def desired() -> dict[str, Any]:
            return dict((await client.get("/api/v1/twins/pump-0001/desired")).json())

        async def converged() -> dict[str, Any]:
            d = (await client.get("/api/v1/twins/pump-0001/desired")).json()
            return dict(d) if not d["delta"] and d["command"]["status"] == "accepted" else {}

        async def online() -> bool:
            return (await client.get("/api/v1/twins/pump-0001")).status_code == 200

        await eventually(online, what="simulated pump registered")
        r = await client.patch("/api/v1/twins/pump-0001/desired", json={"mode": "standby"})
        assert r.status_code == 200
        await eventually(converged, what="device applied and reported the change")

        # the device reboots: the simulator starts again, its machines at their defaults
        supervisor = app.state.adapters.supervisor
        await supervisor.stop("embedded-simulator")
        feed = load_feeder()(settings)
        bus = app.state.adapters.bus
        supervisor.start("embedded-simulator", lambda: feed.run(bus))

        async def back_at_default() -> dict[str, Any]:
            d = await desired()
            return d if d["delta"] == {"mode": "standby"} else {}

        await eventually(back_at_default, what="rebooted device reporting its default mode")
        state = await eventually(converged, timeout=20, what="desired state re-applied after the reboot")
        twin = (await client.get("/api/v1/twins/pump-0001")).json()
    assert twin["reported"]["mode"] == "standby"
    assert state["version"] == 1 and state["command"]["version"] == 1  # no new PATCH
